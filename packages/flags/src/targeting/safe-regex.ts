/** Longest pattern accepted, and longest attribute value a pattern is run against. */
export const MAX_PATTERN_LENGTH = 256;
export const MAX_MATCH_INPUT = 1024;

/**
 * Why `pattern` is unsafe to run on untrusted input, or null when it is accepted. Rejects
 * backreferences, lookarounds and a quantified group that itself contains a quantifier or an
 * alternation (`(a+)+`, `(a|aa)*`): the shapes behind catastrophic backtracking. Conservative on
 * purpose: a rejected but harmless pattern can be rewritten; a hung event loop cannot.
 */
export function unsafeRegexReason(pattern: string): string | null {
  if (pattern.length > MAX_PATTERN_LENGTH) return `longer than ${MAX_PATTERN_LENGTH} characters`;
  try {
    new RegExp(pattern, "u");
  } catch {
    return "not a valid regular expression";
  }
  if (/\\[1-9]|\\k</.test(pattern)) return "backreferences are not allowed";
  if (/\(\?<?[=!]/.test(pattern)) return "lookarounds are not allowed";
  // Walk groups: mark each group that contains a quantifier or alternation, then look at what follows it.
  const stack: { risky: boolean }[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") {
      i += 1;
      continue;
    }
    if (c === "[") {
      while (i < pattern.length && pattern[i] !== "]") i += pattern[i] === "\\" ? 2 : 1;
      continue;
    }
    if (c === "(") stack.push({ risky: false });
    else if (c === ")") {
      const g = stack.pop();
      const next = pattern[i + 1];
      const quantified = next === "*" || next === "+" || next === "?" || next === "{";
      if (g?.risky && quantified && next !== "?")
        return "a quantified group contains a quantifier or alternation (catastrophic backtracking)";
      if (g?.risky || quantified) {
        const parent = stack[stack.length - 1];
        if (parent) parent.risky = true;
      }
    } else if (c === "*" || c === "+" || c === "{" || c === "|") {
      const top = stack[stack.length - 1];
      if (top) top.risky = true;
    }
  }
  return null;
}
