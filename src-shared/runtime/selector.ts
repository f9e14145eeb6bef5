// Label selectors for cache lookups: the string syntax (=, ==, !=, in, notin, exists, !exists) and map form.

export interface LabelRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  values: string[];
}

export type LabelSelector = LabelRequirement[] | Record<string, string>;

/** Parses "app=web,tier in (a,b),!legacy,env!=prod"; throws on syntax it does not understand. */
export function parseLabelSelector(text: string): LabelRequirement[] {
  const requirements: LabelRequirement[] = [];
  for (const part of splitTopLevel(text)) {
    const term = part.trim();
    if (term === "") continue;
    requirements.push(parseTerm(term));
  }
  return requirements;
}

function parseTerm(term: string): LabelRequirement {
  const setMatch = /^([A-Za-z0-9_./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (setMatch) {
    const values = (setMatch[3] ?? "")
      .split(",")
      .map((v) => v.trim())
      .filter((v) => v !== "");
    return { key: setMatch[1] as string, operator: setMatch[2] === "in" ? "In" : "NotIn", values };
  }
  const eqMatch = /^([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([A-Za-z0-9_.-]*)$/.exec(term);
  if (eqMatch) {
    return {
      key: eqMatch[1] as string,
      operator: eqMatch[2] === "!=" ? "NotIn" : "In",
      values: [eqMatch[3] as string],
    };
  }
  if (/^![A-Za-z0-9_./-]+$/.test(term)) return { key: term.slice(1), operator: "DoesNotExist", values: [] };
  if (/^[A-Za-z0-9_./-]+$/.test(term)) return { key: term, operator: "Exists", values: [] };
  throw new Error(`Invalid label selector term: ${term}`);
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of text) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(current);
      current = "";
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

export function matchesLabelSelector(labels: Record<string, string> | undefined, selector: LabelSelector): boolean {
  const have = labels ?? {};
  if (!Array.isArray(selector)) return Object.entries(selector).every(([k, v]) => have[k] === v);
  return selector.every((req) => {
    const present = Object.prototype.hasOwnProperty.call(have, req.key);
    switch (req.operator) {
      case "In":
        return present && req.values.includes(have[req.key] as string);
      case "NotIn":
        return !present || !req.values.includes(have[req.key] as string);
      case "Exists":
        return present;
      case "DoesNotExist":
        return !present;
    }
  });
}
