import type { CryptoKeyLike } from "../client/crypto-key.js";
import { ConfigError } from "@ops/core";
import { fromBase64Url, toBase64Url } from "../client/base64url.js";
import type { ClientPayload, SignedClientPayload } from "../client/payload.js";

const ED25519 = { name: "Ed25519" } as const;

/** A key pair for signing client payloads: keep `privateKey` secret, ship `publicKey` to clients. */
export interface ClientSigningKeyPair {
  keyId: string;
  /** base64url PKCS#8. */
  privateKey: string;
  /** base64url of the 32 raw bytes: what `FlagsClient({ publicKey })` takes. */
  publicKey: string;
}

/** Creates an Ed25519 key pair (WebCrypto). */
export async function createClientSigningKey(keyId = "k1"): Promise<ClientSigningKeyPair> {
  const pair = (await crypto.subtle.generateKey(ED25519, true, ["sign", "verify"])) as {
    privateKey: CryptoKeyLike;
    publicKey: CryptoKeyLike;
  };
  const priv = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const pub = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { keyId, privateKey: toBase64Url(priv), publicKey: toBase64Url(pub) };
}

/** What the handler signs with: the PKCS#8 text from `createClientSigningKey`, or a CryptoKeyLike. */
export interface ClientSigningKey {
  keyId: string;
  privateKey: string | CryptoKeyLike;
}

/** @throws ConfigError when the private key is not an Ed25519 PKCS#8 key. */
export async function importSigningKey(key: ClientSigningKey): Promise<CryptoKeyLike> {
  if (typeof key.privateKey !== "string") return key.privateKey;
  try {
    return await crypto.subtle.importKey("pkcs8", fromBase64Url(key.privateKey), ED25519, false, ["sign"]);
  } catch (err) {
    throw new ConfigError("[ops/flags] signingKey.privateKey: expected base64url PKCS#8 of an Ed25519 private key", [], { cause: err });
  }
}

/** Signs a payload: the signature covers exactly the JSON text sent. */
export async function signClientPayload(payload: ClientPayload, key: CryptoKeyLike, keyId: string): Promise<SignedClientPayload> {
  const text = JSON.stringify(payload);
  const sig = new Uint8Array(await crypto.subtle.sign(ED25519, key, new TextEncoder().encode(text)));
  return { alg: "Ed25519", keyId, payload: text, signature: toBase64Url(sig) };
}
