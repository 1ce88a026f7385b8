import crypto, { X509Certificate, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { bits, bool, explicit, implicitPrimitive, octets, oid, printable, seq, set, smallInt, time, uint, utf8 } from './der.js';

/**
 * The C2PA signing credentials: a P-256 leaf certificate (with its chain, leaf first) and its key.
 *
 * Unless EASEL_C2PA_CERT / EASEL_C2PA_KEY name an operator's own, Easel generates on first start
 * a private CA and a leaf issued by it into `<data dir>/c2pa/`, written with node:crypto and the
 * small DER writer in der.ts (no openssl needed). C2PA's certificate profile rejects a
 * self-signed signer, so there are always two certificates: the CA (CA:TRUE, keyCertSign) is the
 * trust anchor verifiers are given, the leaf (CA:FALSE, critical digitalSignature,
 * extendedKeyUsage emailProtection + documentSigning, SKI/AKI) signs.
 */
export interface C2paCredentials {
  /** DER certificates, leaf first, then the issuers. */
  chain: Buffer[];
  key: KeyObject;
  /** The trust anchor as PEM: what a verifier must trust (the self-generated CA, or the last chain entry). */
  trustAnchorPem: string;
  /** Where they came from, for logs. */
  source: 'env' | 'generated' | 'data_dir';
}

const OID = {
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  organizationalUnit: '2.5.4.11',
  country: '2.5.4.6',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  documentSigning: '1.3.6.1.5.5.7.3.36',
};

const ALG_ECDSA_SHA256 = seq(oid(OID.ecdsaSha256));

function name(parts: { c?: string; o: string; ou?: string; cn: string }): Buffer {
  const rdn = (type: string, value: Buffer) => set(seq(oid(type), value));
  return seq(
    ...(parts.c ? [rdn(OID.country, printable(parts.c))] : []),
    rdn(OID.organization, utf8(parts.o)),
    ...(parts.ou ? [rdn(OID.organizationalUnit, utf8(parts.ou))] : []),
    rdn(OID.commonName, utf8(parts.cn)),
  );
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
}

/** RFC 5280 method 1: SHA-1 of the subjectPublicKey bits (the uncompressed EC point). */
function keyId(pub: KeyObject): Buffer {
  const jwk = pub.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  return crypto.createHash('sha1').update(point).digest();
}

interface CertSpec {
  subject: Buffer;
  issuer: Buffer;
  subjectKey: KeyObject;
  issuerKey: KeyObject;
  issuerKeyId: Buffer;
  ca: boolean;
  notBefore: Date;
  notAfter: Date;
}

function certificate(s: CertSpec): Buffer {
  const serial = crypto.randomBytes(16);
  serial[0]! &= 0x7f; // positive, at most 20 octets
  const ski = keyId(s.subjectKey);
  const exts = s.ca
    ? [
        extension(OID.basicConstraints, true, seq(bool(true), smallInt(0))),
        // keyCertSign (bit 5) + cRLSign (bit 6): 0b0000_0110, one unused bit.
        extension(OID.keyUsage, true, bits(Buffer.from([0x06]), 1)),
        extension(OID.subjectKeyId, false, octets(ski)),
      ]
    : [
        extension(OID.basicConstraints, true, seq()),
        // digitalSignature (bit 0): 0b1000_0000, seven unused bits.
        extension(OID.keyUsage, true, bits(Buffer.from([0x80]), 7)),
        extension(OID.extKeyUsage, false, seq(oid(OID.emailProtection), oid(OID.documentSigning))),
        extension(OID.subjectKeyId, false, octets(ski)),
        extension(OID.authorityKeyId, false, seq(implicitPrimitive(0, s.issuerKeyId))),
      ];
  const tbs = seq(
    explicit(0, smallInt(2)), // v3
    uint(serial),
    ALG_ECDSA_SHA256,
    s.issuer,
    seq(time(s.notBefore), time(s.notAfter)),
    s.subject,
    s.subjectKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(...exts)),
  );
  const sig = crypto.sign('sha256', tbs, s.issuerKey); // DER-encoded ECDSA signature
  return seq(tbs, ALG_ECDSA_SHA256, bits(sig));
}

/** A fresh CA and a leaf it issued, both P-256 / ECDSA-SHA256. */
export function generateCredentials(now = new Date(), org = 'Easel'): { caDer: Buffer; leafDer: Buffer; leafKey: KeyObject; caKey: KeyObject } {
  const ca = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const leaf = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const notBefore = new Date(now.getTime() - 3600_000); // tolerate clock skew between machines
  const caName = name({ o: org, ou: 'Content Credentials', cn: `${org} C2PA Root CA` });
  const caDer = certificate({
    subject: caName,
    issuer: caName,
    subjectKey: ca.publicKey,
    issuerKey: ca.privateKey,
    issuerKeyId: keyId(ca.publicKey),
    ca: true,
    notBefore,
    notAfter: new Date(now.getTime() + 20 * 365 * 86400_000),
  });
  const leafDer = certificate({
    subject: name({ o: org, ou: 'Content Credentials', cn: `${org} C2PA Signer` }),
    issuer: caName,
    subjectKey: leaf.publicKey,
    issuerKey: ca.privateKey,
    issuerKeyId: keyId(ca.publicKey),
    ca: false,
    notBefore,
    notAfter: new Date(now.getTime() + 10 * 365 * 86400_000),
  });
  return { caDer, leafDer, leafKey: leaf.privateKey, caKey: ca.privateKey };
}

export function derToPem(der: Buffer, label = 'CERTIFICATE'): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** Every certificate in a PEM bundle, in order. */
export function pemToDers(pem: string): Buffer[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) => Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}

/** An env value is either PEM text itself or the path of a PEM file. */
function pemFromEnv(v: string): string {
  return v.includes('-----BEGIN') ? v : fs.readFileSync(path.resolve(v), 'utf8');
}

function validateChain(chain: Buffer[], key: KeyObject, where: string): void {
  if (chain.length === 0) throw new Error(`${where}: no certificate found`);
  const leaf = new X509Certificate(chain[0]!);
  if (!leaf.checkPrivateKey(key)) throw new Error(`${where}: the private key does not belong to the first (leaf) certificate`);
  if (leaf.publicKey.asymmetricKeyType !== 'ec' || leaf.publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`${where}: the signing certificate must hold a P-256 (ES256) key`);
  }
  if (chain.length === 1) throw new Error(`${where}: C2PA refuses a self-signed signer; give the leaf followed by its issuing CA`);
  if (Date.parse(leaf.validTo) < Date.now()) throw new Error(`${where}: the signing certificate expired on ${leaf.validTo}`);
}

/**
 * Loads the signing credentials: EASEL_C2PA_CERT + EASEL_C2PA_KEY (PEM text or file paths) when
 * set, else `<dataDir>/c2pa/`, generated there on first start. Two processes starting at once on
 * one data directory agree on one set: each writes its candidate to a temp dir and renames it
 * into place only if none exists yet; the loser reads the winner's.
 */
export function loadCredentials(dataDir: string, env: { cert?: string | null; key?: string | null } = {}): C2paCredentials {
  if (env.cert || env.key) {
    if (!env.cert || !env.key) throw new Error('EASEL_C2PA_CERT and EASEL_C2PA_KEY must be set together');
    const chain = pemToDers(pemFromEnv(env.cert));
    const key = crypto.createPrivateKey(pemFromEnv(env.key));
    validateChain(chain, key, 'EASEL_C2PA_CERT');
    return { chain, key, trustAnchorPem: derToPem(chain[chain.length - 1]!), source: 'env' };
  }
  const dir = path.join(dataDir, 'c2pa');
  const files = { chain: path.join(dir, 'signer-chain.pem'), key: path.join(dir, 'signer.key'), ca: path.join(dir, 'ca.pem') };
  let source: C2paCredentials['source'] = 'data_dir';
  if (!fs.existsSync(files.chain)) {
    fs.mkdirSync(dataDir, { recursive: true });
    const tmp = fs.mkdtempSync(path.join(dataDir, '.c2pa-'));
    const g = generateCredentials();
    fs.writeFileSync(path.join(tmp, 'signer-chain.pem'), derToPem(g.leafDer) + derToPem(g.caDer));
    fs.writeFileSync(path.join(tmp, 'signer.key'), g.leafKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
    fs.writeFileSync(path.join(tmp, 'ca.pem'), derToPem(g.caDer));
    // The CA key is not kept: nothing else is ever issued, so nothing can be mis-issued later.
    try {
      fs.renameSync(tmp, dir);
      source = 'generated';
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    }
  }
  const chain = pemToDers(fs.readFileSync(files.chain, 'utf8'));
  const key = crypto.createPrivateKey(fs.readFileSync(files.key, 'utf8'));
  validateChain(chain, key, files.chain);
  return { chain, key, trustAnchorPem: fs.readFileSync(files.ca, 'utf8'), source };
}
