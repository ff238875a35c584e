import { CAUSE_MODULES } from '../verdict/causes/index.js';
import type { Cause } from '../verdict/types.js';

/** Each cause in the words on-call would use, as the contract defines it (from its cause module). */
export const CAUSE_TEXT = Object.fromEntries(CAUSE_MODULES.map((m) => [m.id, m.label])) as Readonly<
  Record<Cause, string>
>;

export const ALL_CAUSES: readonly Cause[] = CAUSE_MODULES.map((m) => m.id);

export { isCause } from '../verdict/causes/index.js';
