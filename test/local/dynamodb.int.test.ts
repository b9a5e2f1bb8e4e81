import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { describe, expect, inject, it } from 'vitest';

/** The local addresses with a listening TCP socket on `port`, read from Linux's /proc/net/tcp and tcp6 (hex, as the kernel writes them). */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((cols) => cols[3] === '0A' && cols[1]?.endsWith(`:${hexPort}`))
      .map((cols) => cols[1]!.split(':')[0]!),
  );
}

// 127.0.0.1 as /proc writes it: IPv4 little-endian, or IPv4-mapped IPv6 (::ffff:127.0.0.1) in four little-endian words.
const LOOPBACK = new Set(['0100007F', '0000000000000000FFFF00000100007F']);

const connects = (host: string, port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2000 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });

describe('DynamoDB Local as npm start and the tests start it', () => {
  const port = Number(new URL(inject('dynamoEndpoint')).port);

  it('listens on 127.0.0.1 only, never on every interface', () => {
    // Act
    const addresses = listeningAddresses(port);

    // Assess
    expect(addresses.length).toBeGreaterThan(0);
    expect(addresses.filter((a) => !LOOPBACK.has(a))).toEqual([]);
  });

  it('refuses a connection to a non-loopback address of this machine and accepts one on loopback', async () => {
    // Prepare
    const external = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a !== undefined && !a.internal && a.family === 'IPv4')
      .map((a) => a!.address);

    // Act
    const onLoopback = await connects('127.0.0.1', port);
    const onExternal = await Promise.all(external.map((address) => connects(address, port)));

    // Assess
    expect(onLoopback).toBe(true);
    expect(onExternal).toEqual(external.map(() => false));
  });
});
