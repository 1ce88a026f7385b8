import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto, { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { encodeCbor, CborMap, CborTag } from '../../src/imaging/c2pa/cbor.js';
import { oid, time, uint } from '../../src/imaging/c2pa/der.js';
import { derToPem, generateCredentials, loadCredentials, pemToDers } from '../../src/imaging/c2pa/certs.js';
import { coseSign1 } from '../../src/imaging/c2pa/cose.js';
import { C2paSigner } from '../../src/imaging/c2pa/sign.js';
import { encodeAll, type OutputFormat } from '../../src/imaging/encode.js';
import { setC2paSigner, signEncoded } from '../../src/imaging/signing.js';
import { readDigitalSourceType } from '../../src/imaging/provenance.js';
import { renderSketch } from '../../src/providers/sketch/render.js';
import { actionsOf, readC2pa, tamperPixels } from '../helpers/c2pa.js';

const AI = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';
const FORMATS: OutputFormat[] = ['png', 'jpeg', 'webp'];
const hex = (b: Buffer) => b.toString('hex');
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

describe('CBOR and DER writers', () => {
  it('encode the RFC 8949 appendix A examples we rely on', () => {
    const cases: [Parameters<typeof encodeCbor>[0], string][] = [
      [0, '00'], [23, '17'], [24, '1818'], [100, '1864'], [1000, '1903e8'], [1000000, '1a000f4240'],
      [-1, '20'], [-7, '26'], [-100, '3863'], [-1000, '3903e7'],
      ['', '60'], ['a', '6161'], ['IETF', '6449455446'], [Buffer.from([1, 2, 3, 4]), '4401020304'],
      [[], '80'], [[1, 2, 3], '83010203'], [[1, [2, 3], [4, 5]], '8301820203820405'],
      [new CborMap([]), 'a0'], [new CborMap([[1, 2], [3, 4]]), 'a201020304'], [null, 'f6'],
      [new CborTag(18, []), 'd280'],
    ];
    for (const [v, want] of cases) assert.equal(hex(encodeCbor(v)), want, JSON.stringify(v));
    assert.equal(hex(encodeCbor(Buffer.alloc(300))).slice(0, 6), '59012c', 'two-byte length prefix');
  });

  it('encode OIDs, positive integers and times as DER', () => {
    assert.equal(hex(oid('1.2.840.10045.4.3.2')), '06082a8648ce3d040302');
    assert.equal(hex(oid('2.5.29.19')), '0603551d13');
    assert.equal(hex(uint(Buffer.from([0x80]))), '02020080', 'a high bit gets a leading zero');
    assert.equal(hex(uint(Buffer.from([0, 0, 5]))), '020105', 'leading zeros are dropped');
    assert.equal(time(new Date('2031-02-03T04:05:06Z')).toString('latin1', 2), '310203040506Z');
    assert.equal(time(new Date('2051-02-03T04:05:06Z')).toString('latin1', 2), '20510203040506Z');
    assert.equal(time(new Date('2051-02-03T04:05:06Z'))[0], 0x18, 'GeneralizedTime from 2050');
  });
});

describe('C2PA credentials', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-c2pa-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('generates a P-256 CA and a leaf it issued, with the C2PA certificate profile', () => {
    const g = generateCredentials();
    const ca = new X509Certificate(g.caDer);
    const leaf = new X509Certificate(g.leafDer);
    assert.equal(ca.ca, true);
    assert.equal(leaf.ca, false);
    assert.ok(leaf.checkIssued(ca), 'issued by the CA');
    assert.ok(leaf.verify(ca.publicKey), 'signed by the CA');
    assert.ok(ca.verify(ca.publicKey), 'the CA is self-signed');
    assert.ok(leaf.checkPrivateKey(g.leafKey));
    assert.equal(leaf.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(leaf.keyUsage?.includes('1.3.6.1.5.5.7.3.4'), 'extendedKeyUsage emailProtection');
    assert.ok(!leaf.keyUsage?.includes('2.5.29.37.0'), 'never anyExtendedKeyUsage');
    assert.match(leaf.subject, /CN=Easel C2PA Signer/);
    assert.ok(Date.parse(leaf.validFrom) < Date.now() && Date.parse(leaf.validTo) > Date.now() + 365 * 86400_000);
  });

  it('is generated once into the data directory and read back afterwards (also by a second process start)', () => {
    const a = loadCredentials(dir);
    assert.equal(a.source, 'generated');
    const b = loadCredentials(dir);
    assert.equal(b.source, 'data_dir');
    assert.deepEqual(b.chain, a.chain);
    assert.equal(b.trustAnchorPem, a.trustAnchorPem);
    assert.equal(a.chain.length, 2);
    assert.equal((fs.statSync(path.join(dir, 'c2pa', 'signer.key')).mode & 0o777).toString(8), '600', 'the key is private');
    assert.ok(!fs.readdirSync(dir).some((f) => f.startsWith('.c2pa-')), 'no temp dirs left behind');
  });

  it('takes an operator chain and key from EASEL_C2PA_CERT / EASEL_C2PA_KEY (PEM text or file paths), and refuses bad ones', () => {
    const g = generateCredentials();
    const chainPem = derToPem(g.leafDer) + derToPem(g.caDer);
    const keyPem = g.leafKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const fromText = loadCredentials(dir, { cert: chainPem, key: keyPem });
    assert.equal(fromText.source, 'env');
    assert.deepEqual(fromText.chain, [g.leafDer, g.caDer]);
    assert.equal(fromText.trustAnchorPem, derToPem(g.caDer));
    fs.writeFileSync(path.join(dir, 'chain.pem'), chainPem);
    fs.writeFileSync(path.join(dir, 'key.pem'), keyPem);
    assert.deepEqual(loadCredentials(dir, { cert: path.join(dir, 'chain.pem'), key: path.join(dir, 'key.pem') }).chain, [g.leafDer, g.caDer]);
    const other = generateCredentials();
    assert.throws(() => loadCredentials(dir, { cert: chainPem, key: other.leafKey.export({ type: 'pkcs8', format: 'pem' }) as string }), /does not belong/);
    assert.throws(() => loadCredentials(dir, { cert: derToPem(g.leafDer), key: keyPem }), /self-signed/);
    assert.throws(() => loadCredentials(dir, { cert: chainPem }), /together/);
    assert.deepEqual(pemToDers(chainPem), [g.leafDer, g.caDer]);
  });
});

describe('COSE_Sign1 for c2pa-wasm', () => {
  it('fills the reserved space exactly, for every size across the length-prefix boundaries', () => {
    const g = generateCredentials();
    const claim = Buffer.from('a claim');
    const bare = coseSign1(claim, g.leafKey, [g.leafDer, g.caDer], 4000).length;
    assert.equal(bare, 4000);
    for (let size = 1300; size <= 1700; size++) {
      let out: Buffer;
      try {
        out = coseSign1(claim, g.leafKey, [g.leafDer, g.caDer], size);
      } catch (e) {
        assert.match(String(e), /does not fit/, `size ${size}`);
        continue;
      }
      assert.equal(out.length, size, `size ${size}`);
      assert.equal(out[0], 0xd2, 'CBOR tag 18 (COSE_Sign1)');
    }
  });
});

describe('signing encoded outputs', () => {
  let creds: ReturnType<typeof generateCredentials>;
  let signer: C2paSigner;
  let caPem: string;
  let source: Buffer;
  const created = new Date('2026-03-04T05:06:07Z');

  before(async () => {
    creds = generateCredentials();
    caPem = derToPem(creds.caDer);
    signer = new C2paSigner({ chain: [creds.leafDer, creds.caDer], key: creds.leafKey, trustAnchorPem: caPem, source: 'generated' });
    setC2paSigner(signer);
    source = await renderSketch({ prompt: 'a lighthouse at dusk', seed: 5, width: 512, height: 384 });
  });
  after(() => setC2paSigner(null));

  it('PNG, JPEG and WebP carry a manifest that validates as Trusted against our CA, and the hash is of the signed bytes', async () => {
    const info = { generator: 'Easel', model: 'easel-sketch', action: 'created' as const, createdAt: created };
    const plain = await encodeAll(source, info);
    const signed = await signEncoded(plain, info);
    for (const f of FORMATS) {
      const s = signed[f];
      assert.ok(s.bytes.length > plain[f].bytes.length, `${f} grew by the manifest`);
      assert.equal(s.sha256, sha256(s.bytes), `${f}: the hash is of the final bytes`);
      const meta = await sharp(s.bytes).metadata();
      assert.equal(meta.format, f);
      assert.deepEqual([meta.width, meta.height], [512, 384]);
      assert.equal(await readDigitalSourceType(s.bytes), AI, `${f} keeps the IPTC XMP`);

      const trusted = await readC2pa(s.bytes, f, caPem);
      assert.equal(trusted.state, 'Trusted', `${f}: ${trusted.failures.join(', ')}`);
      const untrusted = await readC2pa(s.bytes, f);
      assert.equal(untrusted.state, 'Valid', `${f} is intact even without the trust anchor`);
      assert.ok(untrusted.failures.includes('signingCredential.untrusted'));

      const m = trusted.manifest;
      assert.equal(m.claim_generator_info[0].name, 'Easel');
      assert.equal(m.signature_info.common_name, 'Easel C2PA Signer');
      const [action, ...rest] = actionsOf(m);
      assert.equal(rest.length, 0);
      assert.equal(action.action, 'c2pa.created');
      assert.equal(action.digitalSourceType, AI);
      assert.equal(action.softwareAgent.name, 'Easel');
      assert.equal(action.parameters['org.easel.model'], 'easel-sketch');
      assert.equal(action.when, created.toISOString());

      const tampered = await readC2pa(tamperPixels(s.bytes, f), f, caPem);
      assert.equal(tampered.state, 'Invalid', `${f} after one flipped byte`);
      assert.ok(tampered.failures.some((c) => c.includes('dataHash.mismatch')), `${f}: ${tampered.failures.join(', ')}`);
    }
  });

  it('another CA as trust anchor leaves the manifest Valid but not Trusted', async () => {
    const info = { generator: 'Easel', model: 'm', action: 'created' as const, createdAt: created };
    const { png } = await signEncoded(await encodeAll(source, info, ['png']), info);
    const stranger = derToPem(generateCredentials().caDer);
    assert.equal((await readC2pa(png.bytes, 'png', stranger)).state, 'Valid');
  });

  it('an edit opens its input as the parent ingredient, then records c2pa.edited; the parent keeps its own credentials', async () => {
    const info = { generator: 'Easel', model: 'easel-sketch', action: 'created' as const, createdAt: created };
    const parent = (await signEncoded(await encodeAll(source, info, ['png']), info)).png.bytes;
    const edited = { ...info, action: 'edited' as const };
    const out = await signEncoded(await encodeAll(source, edited), edited, [{ bytes: parent, mime: 'image/png', title: 'input 1 (image_url)' }]);
    for (const f of FORMATS) {
      const r = await readC2pa(out[f].bytes, f, caPem);
      assert.equal(r.state, 'Trusted', `${f}: ${r.failures.join(', ')}`);
      assert.deepEqual(actionsOf(r.manifest).map((a) => a.action), ['c2pa.opened', 'c2pa.edited']);
      assert.equal(actionsOf(r.manifest)[1].digitalSourceType, AI);
      const [ing] = r.manifest.ingredients;
      assert.equal(ing.relationship, 'parentOf');
      assert.equal(ing.title, 'input 1 (image_url)');
      assert.ok(ing.active_manifest, 'the parent\'s own manifest is kept in the chain');
    }
  });

  it('a combine is created from its inputs as component ingredients', async () => {
    const info = { generator: 'Easel', model: 'easel-sketch', action: 'created' as const, createdAt: created };
    const a = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ff0000' } }).jpeg().toBuffer();
    const b = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#0000ff' } }).webp().toBuffer();
    const { png } = await signEncoded(await encodeAll(source, info, ['png']), info, [
      { bytes: a, mime: 'image/jpeg', title: 'a' },
      { bytes: b, mime: 'image/webp', title: 'b' },
    ]);
    const r = await readC2pa(png.bytes, 'png', caPem);
    assert.equal(r.state, 'Trusted');
    assert.deepEqual(actionsOf(r.manifest).map((x) => x.action), ['c2pa.created']);
    assert.deepEqual(r.manifest.ingredients.map((i: any) => [i.title, i.relationship]), [['a', 'componentOf'], ['b', 'componentOf']]);
  });

  it('keeps the alpha channel of a transparent PNG and WebP', async () => {
    const rgba = await renderSketch({ prompt: 'a star icon', seed: 1, width: 256, height: 256, style: 'graphic', transparent: true });
    const info = { generator: 'Easel', model: 'm', action: 'created' as const, createdAt: created };
    const out = await signEncoded(await encodeAll(rgba, info), info);
    for (const f of ['png', 'webp'] as const) {
      const { data, info: i } = await sharp(out[f].bytes).raw().toBuffer({ resolveWithObject: true });
      assert.equal(i.channels, 4, `${f} has alpha`);
      assert.equal(data[3], 0, `${f}: the corner is transparent`);
      assert.equal((await readC2pa(out[f].bytes, f, caPem)).state, 'Trusted');
    }
  });

  it('without an installed signer, outputs keep their XMP marking only', async () => {
    setC2paSigner(null);
    try {
      const info = { generator: 'Easel', model: 'm', action: 'created' as const, createdAt: created };
      const plain = await encodeAll(source, info, ['png']);
      const same = await signEncoded(plain, info);
      assert.equal(same.png.bytes, plain.png.bytes);
    } finally {
      setC2paSigner(signer);
    }
  });
});
