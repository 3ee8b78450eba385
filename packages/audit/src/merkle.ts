import { sha256Hex } from "./encoding.js";

// RFC 6962/9162 Merkle tree hash: leaves and nodes are domain-separated ("0"/"1" prefixes) so a
// leaf can never be passed off as a node; an odd split goes at the largest power of two below n.

export function leafHash(data: string): string {
  return sha256Hex(`0${data}`);
}

function nodeHash(left: string, right: string): string {
  return sha256Hex(`1${left}${right}`);
}

function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Root over leaf hashes (hex). The empty tree's root is SHA-256 of "". */
export function merkleRoot(leaves: readonly string[]): string {
  if (leaves.length === 0) return sha256Hex("");
  if (leaves.length === 1) return leaves[0]!;
  const k = split(leaves.length);
  return nodeHash(merkleRoot(leaves.slice(0, k)), merkleRoot(leaves.slice(k)));
}

/** Inclusion proof of leaf `m` among `leaves`: sibling hashes from the leaf up. */
export function merkleProof(leaves: readonly string[], m: number): string[] {
  if (leaves.length <= 1) return [];
  const k = split(leaves.length);
  return m < k
    ? [...merkleProof(leaves.slice(0, k), m), merkleRoot(leaves.slice(k))]
    : [...merkleProof(leaves.slice(k), m - k), merkleRoot(leaves.slice(0, k))];
}

/** The root a proof leads to, or null when the proof has the wrong length for (m, n). */
export function rootFromProof(leaf: string, m: number, n: number, proof: readonly string[]): string | null {
  if (m < 0 || m >= n) return null;
  const walk = (m: number, n: number, depth: number): string | null => {
    if (n === 1) return depth === 0 ? leaf : null;
    if (depth === 0) return null;
    const k = split(n);
    const sibling = proof[depth - 1]!;
    if (m < k) {
      const left = walk(m, k, depth - 1);
      return left === null ? null : nodeHash(left, sibling);
    }
    const right = walk(m - k, n - k, depth - 1);
    return right === null ? null : nodeHash(sibling, right);
  };
  return walk(m, n, proof.length);
}
