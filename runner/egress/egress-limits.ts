import { z } from "zod";

const port = z.number().int().min(1).max(65535);
const positiveMs = z.number().int().positive();

/**
 * The bounds of one run's egress proxy. A run's proxy serves one sandbox, so the numbers
 * are per run. Plain HTTP is allowed to granted names on `httpPorts` (port 80 by
 * default; an empty list turns plain HTTP off): package mirrors still serve some files
 * over it, and the name checks are the same as for CONNECT. Every other port needs the
 * operator to list it.
 */
export const egressLimitsSchema = z.strictObject({
  /** Open client connections (tunnels included) at once; past it a connection is refused at once. */
  maxConnections: z.number().int().positive().default(64),
  /** A tunnel or forwarded request with no bytes either way for this long is closed. */
  idleTimeoutMs: positiveMs.default(120_000),
  /** A client must send its whole request head within this. */
  headersTimeoutMs: positiveMs.default(10_000),
  /** Host-side resolution of a granted name must answer within this (502 otherwise). */
  resolveTimeoutMs: positiveMs.default(5_000),
  /** Connecting to the resolved address must succeed within this. */
  connectTimeoutMs: positiveMs.default(10_000),
  /** Request line plus headers; more is refused with 431. */
  maxHeaderBytes: z.number().int().min(1024).max(65_536).default(16_384),
  /** Ports a CONNECT may open. */
  connectPorts: z.array(port).default([443]),
  /** Ports plain HTTP may be forwarded to. */
  httpPorts: z.array(port).default([80]),
});

export type EgressLimits = z.output<typeof egressLimitsSchema>;
export type EgressLimitsInput = z.input<typeof egressLimitsSchema>;
