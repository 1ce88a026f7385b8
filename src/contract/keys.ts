import { Type } from 'typebox';
import { DateTime, Uuid } from './common.js';

/**
 * Account-scoped API key management (Easel, issue 9): GET/POST /v1/keys, DELETE /v1/keys/{id}.
 * A key is never shown again after creation; only its SHA-256 is stored, and it is never sent back.
 */

/** Printable ASCII, no leading space: names appear in the operator CLI (`easel keys revoke NAME`) and in logs. */
export const KeyName = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9][A-Za-z0-9 ._:@-]*$',
  description: 'Key name: letters, digits, space and . _ : @ -, starting with a letter or digit. Names are unique within the account.',
});

/**
 * What a key may do (issue 20). `admin`: everything, including managing the account's keys and
 * settings (the routes that say "Requires an admin key"). `generate`: create and read jobs, upload,
 * quote, process, read the account and its ledger; the admin routes answer it 403 insufficient_scope.
 */
export const KeyScope = Type.Union([Type.Literal('admin'), Type.Literal('generate')], {
  description: 'admin: also manages keys, account settings and the webhook (keys from `easel keys create`, and every key older than scopes). generate: creates and reads jobs only (the default of POST /v1/keys).',
});

export const ApiKeyView = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    scope: KeyScope,
    prefix: Type.String({ description: 'The first 10 characters of the key (esl_ + 6), to recognise it.' }),
    created_at: DateTime,
    last_used_at: Type.Union([DateTime, Type.Null()], { description: 'Last authenticated request (updated at most once a minute).' }),
    revoked_at: Type.Union([DateTime, Type.Null()]),
    current: Type.Boolean({ description: 'true for the key this request was made with.' }),
  },
  { $id: 'ApiKey', additionalProperties: false },
);

export const ApiKeyList = Type.Object({ keys: Type.Array(Type.Ref('ApiKey'), { description: 'Oldest first, revoked keys included.' }) }, { additionalProperties: false });

export const CreateKeyBody = Type.Object(
  { name: Type.Optional(KeyName), scope: Type.Optional({ ...KeyScope, description: 'Default generate. Only an admin key creates keys, so an admin key may mint either.' }) },
  { additionalProperties: false },
);

export const CreatedApiKey = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    scope: KeyScope,
    prefix: Type.String(),
    created_at: DateTime,
    last_used_at: Type.Null(),
    revoked_at: Type.Null(),
    current: Type.Literal(false),
    key: Type.String({ pattern: '^esl_[A-Za-z0-9]{43}$', description: 'The secret key. Shown this once: store it now.' }),
  },
  { additionalProperties: false },
);

export const KeyIdParams = Type.Object({ id: Uuid }, { additionalProperties: false });
