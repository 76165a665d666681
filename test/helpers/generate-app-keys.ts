import { generateKeyPairSync } from "node:crypto";

/** A GitHub App's key pair: the app signs with the private key, the GitHub stand-in checks with the public one. */
export function generateAppKeys(): { privateKey: string; publicKeyPem: string } {
  const keys = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    privateKey: keys.privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
    publicKeyPem: keys.publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}
