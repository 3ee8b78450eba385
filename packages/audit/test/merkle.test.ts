import { describe, expect, it } from "vitest";
import { checkpointProof, generateCheckpointKeys, signCheckpoint, verifyCheckpointProof } from "@ops/audit";
import { leafHash, merkleProof, merkleRoot, rootFromProof } from "../src/merkle.js";

describe("Merkle tree (RFC 6962 shape)", () => {
  it("every leaf's inclusion proof leads to the root, for trees of 1..33 leaves", () => {
    for (let n = 1; n <= 33; n++) {
      const leaves = Array.from({ length: n }, (_, i) => leafHash(`leaf-${i}`));
      const root = merkleRoot(leaves);
      for (let m = 0; m < n; m++) {
        const proof = merkleProof(leaves, m);
        expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)));
        expect(rootFromProof(leaves[m]!, m, n, proof)).toBe(root);
        if (n > 1) {
          expect(rootFromProof(leaves[(m + 1) % n]!, m, n, proof)).not.toBe(root);
          expect(rootFromProof(leaves[m]!, m, n, proof.slice(1))).not.toBe(root);
        }
      }
    }
  });

  it("proofs are bound to the signed checkpoint", () => {
    const keys = generateCheckpointKeys();
    const cp = signCheckpoint({
      heads: ["a", "b", "c", "d", "e"].map((t, i) => ({ tenantId: t, seq: i + 1, hash: `h${i}` })),
      privateKey: keys.privateKey,
      createdAt: "2026-01-01T00:00:00.000Z",
    });
    const p = checkpointProof(cp, "c")!;
    expect(p).toMatchObject({ head: { tenantId: "c", seq: 3 }, index: 2, headCount: 5 });
    expect(verifyCheckpointProof(p, keys.publicKey)).toBe(true);
    expect(verifyCheckpointProof({ ...p, head: { ...p.head, seq: 4 } }, keys.publicKey)).toBe(false);
    expect(verifyCheckpointProof({ ...p, headCount: 6 }, keys.publicKey)).toBe(false);
    expect(verifyCheckpointProof(p, generateCheckpointKeys().publicKey)).toBe(false);
    expect(checkpointProof(cp, "zz")).toBeNull();
  });
});
