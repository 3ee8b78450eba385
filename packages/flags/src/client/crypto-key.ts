/** WebCrypto's CryptoKey, named without the DOM lib (Node's and browsers' types agree on it). */
export type CryptoKeyLike = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
