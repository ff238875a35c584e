import { requireBinary } from './binaries.js';

/** Fails the whole run at once, with the install command, when a required binary is missing. */
export default function setup(): void {
  requireBinary('redis-server');
}
