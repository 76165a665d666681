// @unit
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classifyAddress } from "../../runner/egress/classify-address.ts";

/** [address, refused range or "allowed"]: every range in the table, its edges, and the encodings of IPv4 in IPv6. */
const table: [string, string][] = [
  // IPv4 public
  ["8.8.8.8", "allowed"],
  ["1.1.1.1", "allowed"],
  ["93.184.215.14", "allowed"],
  ["9.255.255.255", "allowed"],
  ["11.0.0.0", "allowed"],
  ["100.63.255.255", "allowed"],
  ["100.128.0.0", "allowed"],
  ["126.255.255.255", "allowed"],
  ["128.0.0.0", "allowed"],
  ["169.253.255.255", "allowed"],
  ["169.255.0.0", "allowed"],
  ["172.15.255.255", "allowed"],
  ["172.32.0.0", "allowed"],
  ["192.0.1.0", "allowed"],
  ["192.167.255.255", "allowed"],
  ["192.169.0.0", "allowed"],
  ["198.17.255.255", "allowed"],
  ["198.20.0.0", "allowed"],
  ["223.255.255.255", "allowed"],
  ["168.63.129.15", "allowed"],
  // IPv4 refused
  ["0.0.0.0", "0.0.0.0/32"],
  ["0.1.2.3", "0.0.0.0/8"],
  ["10.0.0.1", "10.0.0.0/8"],
  ["10.255.255.255", "10.0.0.0/8"],
  ["100.64.0.0", "100.64.0.0/10"],
  ["100.100.100.200", "100.64.0.0/10"],
  ["100.127.255.255", "100.64.0.0/10"],
  ["127.0.0.1", "127.0.0.0/8"],
  ["127.255.255.254", "127.0.0.0/8"],
  ["169.254.169.254", "169.254.169.254/32"],
  ["169.254.0.1", "169.254.0.0/16"],
  ["169.254.170.2", "169.254.0.0/16"],
  ["168.63.129.16", "168.63.129.16/32"],
  ["172.16.0.0", "172.16.0.0/12"],
  ["172.31.255.255", "172.16.0.0/12"],
  ["192.0.0.192", "192.0.0.0/24"],
  ["192.0.2.1", "192.0.2.0/24"],
  ["192.88.99.1", "192.88.99.0/24"],
  ["192.168.0.1", "192.168.0.0/16"],
  ["192.168.255.255", "192.168.0.0/16"],
  ["198.18.0.1", "198.18.0.0/15"],
  ["198.19.255.255", "198.18.0.0/15"],
  ["198.51.100.7", "198.51.100.0/24"],
  ["203.0.113.9", "203.0.113.0/24"],
  ["224.0.0.1", "224.0.0.0/4"],
  ["239.255.255.250", "224.0.0.0/4"],
  ["240.0.0.1", "240.0.0.0/4"],
  ["255.255.255.254", "240.0.0.0/4"],
  ["255.255.255.255", "255.255.255.255/32"],
  // IPv6 public
  ["2606:4700:4700::1111", "allowed"],
  ["2a00:1450:4001:80b::200e", "allowed"],
  ["2001:4860:4860::8888", "allowed"],
  ["2001:db9::1", "allowed"],
  // IPv6 refused
  ["::", "::/128"],
  ["::1", "::1/128"],
  ["0:0:0:0:0:0:0:1", "::1/128"],
  ["fd00:ec2::254", "fd00:ec2::254/128"],
  ["fd00:ec2::253", "fc00::/7"],
  ["fc00::1", "fc00::/7"],
  ["fdff:ffff::1", "fc00::/7"],
  ["fe80::1", "fe80::/10"],
  ["fe80::1%eth0", "fe80::/10"],
  ["febf::1", "fe80::/10"],
  ["fec0::1", "fec0::/10"],
  ["ff02::1", "ff00::/8"],
  ["ff05::1:3", "ff00::/8"],
  ["100::1", "100::/64"],
  ["64:ff9b:1::1", "64:ff9b:1::/48"],
  ["2001::1", "2001::/32"],
  ["2001:2::1", "2001:2::/48"],
  ["2001:10::1", "2001:10::/28"],
  ["2001:20::1", "2001:20::/28"],
  ["2001:db8::1", "2001:db8::/32"],
  ["3fff::1", "3fff::/20"],
  ["4000::1", "2000::/3"],
  ["1::1", "2000::/3"],
  ["e000::1", "2000::/3"],
  // IPv4 inside IPv6: judged by the IPv4 address carried
  ["::ffff:127.0.0.1", "::ffff:0:0/96"],
  ["::ffff:7f00:1", "::ffff:0:0/96"],
  ["::FFFF:127.0.0.1", "::ffff:0:0/96"],
  ["0:0:0:0:0:ffff:7f00:0001", "::ffff:0:0/96"],
  ["::ffff:10.0.0.1", "::ffff:0:0/96"],
  ["::ffff:169.254.169.254", "::ffff:0:0/96"],
  ["::ffff:a9fe:a9fe", "::ffff:0:0/96"],
  ["::ffff:192.168.1.1", "::ffff:0:0/96"],
  ["::ffff:100.64.0.1", "::ffff:0:0/96"],
  ["::ffff:0.0.0.0", "::ffff:0:0/96"],
  ["::ffff:224.0.0.1", "::ffff:0:0/96"],
  ["::ffff:255.255.255.255", "::ffff:0:0/96"],
  ["::ffff:8.8.8.8", "allowed"],
  ["::127.0.0.1", "::/96"],
  ["::10.0.0.1", "::/96"],
  ["::0.0.0.2", "::/96"],
  ["::8.8.8.8", "allowed"],
  ["64:ff9b::127.0.0.1", "64:ff9b::/96"],
  ["64:ff9b::a9fe:a9fe", "64:ff9b::/96"],
  ["64:ff9b::8.8.8.8", "allowed"],
  ["2002:7f00:1::", "2002::/16"],
  ["2002:a9fe:a9fe::1", "2002::/16"],
  ["2002:c0a8:101::1", "2002::/16"],
  ["2002:808:808::1", "allowed"],
  // Not an address at all
  ["localhost", "-"],
  ["0x7f.1", "-"],
  ["2130706433", "-"],
  ["127.1", "-"],
  ["", "-"],
];

describe("classifyAddress", () => {
  for (const [address, expected] of table) {
    it(`${address || "(empty)"} → ${expected}`, () => {
      const verdict = classifyAddress(address);
      if (expected === "allowed") {
        assert.equal(verdict.allowed, true, JSON.stringify(verdict));
      } else {
        assert.equal(verdict.allowed, false, `${address} must be refused`);
        assert.equal(verdict.allowed === false && verdict.range, expected);
      }
    });
  }

  it("names what an address is, and judges IPv4 carried in IPv6 by what it carries", () => {
    const metadata = classifyAddress("169.254.169.254");
    assert.equal(
      metadata.allowed === false && metadata.reason,
      "the cloud metadata service (instance credentials)",
    );
    const mapped = classifyAddress("::ffff:127.0.0.1");
    assert.equal(mapped.allowed === false && mapped.reason, "IPv4-mapped loopback (the runner's own host)");
    const aws = classifyAddress("fd00:ec2::254");
    assert.match(aws.allowed === false ? aws.reason : "", /AWS IPv6 metadata/);
  });
});
