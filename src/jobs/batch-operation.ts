/** The operation of a batch's own job (issue 21); its items are jobs of their own operation. */
export const BATCH_OPERATION = 'batch';
