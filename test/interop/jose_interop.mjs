// Interop between careguard's JWT core (through careguard_jwt_tool) and the
// `jose` library, for every algorithm: jose signs -> careguard verifies, and
// careguard signs -> jose verifies, plus tampering and wrong-key rejections
// in both directions. Usage: node jose_interop.mjs <path-to-careguard_jwt_tool>
import * as jose from 'jose';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';

const tool = process.argv[2];
if (!tool) {
  console.error('usage: node jose_interop.mjs <careguard_jwt_tool>');
  process.exit(2);
}

const ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384',
  'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const ISSUER = 'https://auth.interop.example/v1';
const AUDIENCE = 'authenticated';
const dir = mkdtempSync(join(tmpdir(), 'careguard-interop-'));
let passed = 0;
let failed = 0;

// Records one check's outcome.
function record(name, ok, why = '') {
  if (ok) {
    passed += 1;
  } else {
    failed += 1;
    console.log(`FAIL ${name}${why ? `: ${why}` : ''}`);
  }
}

function runTool(args) {
  const r = spawnSync(tool, args, { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

// A fresh private/public JWK pair (for HS*, the same oct JWK twice).
async function makeKeys(alg, kid) {
  if (alg.startsWith('HS')) {
    const secret = await jose.generateSecret(alg, { extractable: true });
    const jwk = { ...(await jose.exportJWK(secret)), kid, alg };
    return { signKey: secret, privateJwk: jwk, publicJwk: jwk };
  }
  const options = { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) };
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, options);
  return {
    signKey: privateKey,
    privateJwk: { ...(await jose.exportJWK(privateKey)), kid, alg, use: 'sig' },
    publicJwk: { ...(await jose.exportJWK(publicKey)), kid, alg, use: 'sig' },
  };
}

// Re-encodes a token's payload with other claims, keeping header and signature.
function swapPayload(token, claims) {
  const [h, , s] = token.split('.');
  return `${h}.${jose.base64url.encode(JSON.stringify(claims))}.${s}`;
}

// jose's local JWKS holds asymmetric keys only; HMAC secrets are imported directly.
async function joseVerifies(token, jwks, alg) {
  try {
    const key = alg.startsWith('HS') ? await jose.importJWK(jwks.keys[0], alg)
      : jose.createLocalJWKSet(jwks);
    const { payload, protectedHeader } = await jose.jwtVerify(token, key, {
      issuer: ISSUER, audience: AUDIENCE, algorithms: [alg],
    });
    return { ok: true, payload, protectedHeader };
  } catch (e) {
    return { ok: false, code: e.code };
  }
}

for (const alg of ALGORITHMS) {
  const kid = `interop-${alg}`;
  const keys = await makeKeys(alg, kid);
  const other = await makeKeys(alg, kid);  // Same kid, different key material.
  const privateFile = join(dir, `${alg}.private.jwk`);
  const jwksFile = join(dir, `${alg}.jwks`);
  writeFileSync(privateFile, JSON.stringify(keys.privateJwk));
  writeFileSync(jwksFile, JSON.stringify({ keys: [keys.publicJwk] }));
  const jwks = { keys: [keys.publicJwk] };
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    sub: '6c9a8a1e-7b7f-4c1e-9d5a-3f0e4b8c2a11', role: 'authenticated', iss: ISSUER,
    aud: [AUDIENCE, 'extra'], iat: now, exp: now + 600, app_metadata: { provider: 'email' },
  };
  const verifyArgs = ['verify', jwksFile, null, '--iss', ISSUER, '--aud', AUDIENCE];
  const toolVerify = (token) => runTool(verifyArgs.map((a) => (a === null ? token : a)));

  // 1. jose signs, careguard verifies and returns the claims unchanged.
  const joseToken = await new jose.SignJWT(claims)
    .setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(keys.signKey);
  const v = toolVerify(joseToken);
  let parsed = null;
  try { parsed = JSON.parse(v.stdout); } catch { /* reported below */ }
  record(`${alg} jose->careguard verify`, v.status === 0 && isDeepStrictEqual(parsed, claims),
    v.stderr || v.stdout);

  // 2. careguard signs, jose verifies.
  const s = runTool(['sign', alg, privateFile, JSON.stringify(claims)]);
  const joseResult = s.status === 0 ? await joseVerifies(s.stdout, jwks, alg) : { ok: false };
  record(`${alg} careguard->jose verify`,
    joseResult.ok && isDeepStrictEqual(joseResult.payload, claims) &&
      joseResult.protectedHeader.kid === kid && joseResult.protectedHeader.alg === alg,
    s.stderr || joseResult.code);

  // 3. Tampered claims are rejected both ways.
  const escalated = { ...claims, role: 'service_role' };
  const t1 = toolVerify(swapPayload(joseToken, escalated));
  record(`${alg} careguard rejects tampered jose token`,
    t1.status === 1 && t1.stderr.startsWith('ERROR 28P01: signature mismatch'), t1.stderr);
  if (s.status === 0) {
    const t2 = await joseVerifies(swapPayload(s.stdout, escalated), jwks, alg);
    record(`${alg} jose rejects tampered careguard token`,
      !t2.ok && t2.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', t2.code);
  } else {
    record(`${alg} jose rejects tampered careguard token`, false, 'careguard did not sign');
  }

  // 4. A token from another key under the same kid is a signature mismatch.
  const forged = await new jose.SignJWT(claims)
    .setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(other.signKey);
  const w = toolVerify(forged);
  record(`${alg} careguard rejects wrong key`,
    w.status === 1 && w.stderr.startsWith('ERROR 28P01: signature mismatch'), w.stderr);

  // 5. An expired jose token is rejected with the documented message.
  const expired = await new jose.SignJWT({ ...claims, exp: now - 3600 })
    .setProtectedHeader({ alg, kid }).sign(keys.signKey);
  const e = toolVerify(expired);
  record(`${alg} careguard rejects expired`,
    e.status === 1 && e.stderr.startsWith('ERROR 28000: token expired at '), e.stderr);
}

rmSync(dir, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
