import type { Encoded } from './types.js';
import type { OperationInput } from './run-operation.js';

/** Parent → processing child. */
export type ChildRequest =
  | { type: 'init'; dataDir: string; c2paCert: string | null; c2paKey: string | null; memoryBytes: number }
  | { type: 'run'; id: number; req: OperationInput };

/** Processing child → parent. */
export type ChildReply =
  | { type: 'ready' }
  | { type: 'done'; id: number; out: Encoded }
  | { type: 'failed'; id: number; code: string; message: string; retryable: boolean };
