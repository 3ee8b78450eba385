/** An IPv4 or IPv6 network: address as 8 16-bit groups (IPv4 mapped into ::ffff:0:0/96) and prefix length. */
export interface Cidr {
  groups: Uint16Array;
  bits: number;
}

/** Parses an IPv4 / IPv6 address into 8 groups (IPv4 as ::ffff:a.b.c.d); false when invalid. */
export function parseIp(s: string, out: Uint16Array): boolean {
  if (s.indexOf(":") < 0) {
    const n = parseIpv4(s);
    if (n < 0) return false;
    out.fill(0);
    out[5] = 0xffff;
    out[6] = n >>> 16;
    out[7] = n & 0xffff;
    return true;
  }
  return parseIpv6(s, out);
}

function parseIpv4(s: string): number {
  let n = 0;
  let parts = 0;
  let cur = -1;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (cur < 0 || cur > 255) return -1;
      n = n * 256 + cur;
      parts += 1;
      cur = -1;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && cur === 0) return -1; // no leading zeros: "01" is ambiguous (octal)
      cur = (cur < 0 ? 0 : cur) * 10 + (c - 48);
      digits += 1;
    } else return -1;
  }
  return parts === 4 ? n : -1;
}

function parseIpv6(s: string, out: Uint16Array): boolean {
  const zone = s.indexOf("%");
  const addr = zone >= 0 ? s.slice(0, zone) : s;
  const halves = addr.split("::");
  if (halves.length > 2) return false;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const groups: number[] = [];
  const read = (parts: string[], into: number[]): boolean => {
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIpv4(p);
        if (v4 < 0) return false;
        into.push(v4 >>> 16, v4 & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) into.push(parseInt(p, 16));
      else return false;
    }
    return true;
  };
  const tailGroups: number[] = [];
  if (!read(head, groups) || !read(tail, tailGroups)) return false;
  const missing = 8 - groups.length - tailGroups.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return false;
  out.fill(0);
  groups.forEach((g, i) => (out[i] = g));
  tailGroups.forEach((g, i) => (out[8 - tailGroups.length + i] = g));
  return true;
}

/**
 * Parses `10.0.0.0/8` or `2001:db8::/32` (a bare address is a /32 or /128).
 * @returns null when invalid
 */
export function parseCidr(s: string): Cidr | null {
  const slash = s.indexOf("/");
  const groups = new Uint16Array(8);
  if (!parseIp(slash >= 0 ? s.slice(0, slash) : s, groups)) return null;
  const v4 = s.indexOf(":") < 0;
  const max = v4 ? 32 : 128;
  const bits = slash >= 0 ? Number(s.slice(slash + 1)) : max;
  if (!Number.isInteger(bits) || bits < 0 || bits > max || (slash >= 0 && !/^\d+$/.test(s.slice(slash + 1)))) return null;
  return { groups, bits: v4 ? bits + 96 : bits };
}

const scratch = new Uint16Array(8);

/** True when `ip` is inside `net`. Parses into a shared scratch buffer: no allocation for IPv4. */
export function cidrContains(net: Cidr, ip: string): boolean {
  if (!parseIp(ip, scratch)) return false;
  let bits = net.bits;
  for (let i = 0; i < 8 && bits > 0; i++) {
    const take = bits >= 16 ? 16 : bits;
    const mask = (0xffff << (16 - take)) & 0xffff;
    if ((scratch[i]! & mask) !== (net.groups[i]! & mask)) return false;
    bits -= take;
  }
  return true;
}
