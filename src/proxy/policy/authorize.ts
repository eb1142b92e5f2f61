/**
 * agentgateway's authorization semantics over CEL rules, in order:
 *   1. no rules → allow;  2. a Deny that matches → deny;  3. a Require that does not match → deny;
 *   4. an Allow that matches → allow;  5. otherwise allow only if there are no Allow rules.
 * A rule matches when every one of its expressions is true. An expression that fails to evaluate
 * (a missing claim, a type error) is false: an erroring Deny does not deny, an erroring Require
 * denies. Rules are compiled once per routing table (translate() already refused any that do not
 * compile, so a compile failure here only denies).
 */
import { type CelProgram, cachedCel, celTrue } from '../../shared/cel.js';
import type { AuthorizationRule } from '../../shared/table.js';

export interface CompiledRule {
  readonly action: AuthorizationRule['action'];
  readonly programs: readonly CelProgram[];
  readonly policy: string;
  /** Some expression failed to compile: the rule never matches. */
  readonly broken: boolean;
}

export function compileRules(rules: readonly AuthorizationRule[]): CompiledRule[] {
  return rules.map((rule) => {
    const programs: CelProgram[] = [];
    let broken = false;
    for (const source of rule.expressions) {
      const compiled = cachedCel(source);
      if (compiled.ok) programs.push(compiled.program);
      else broken = true;
    }
    return { action: rule.action, programs, policy: rule.policy, broken };
  });
}

function matches(rule: CompiledRule, vars: Readonly<Record<string, unknown>>): boolean {
  if (rule.broken) return false;
  for (const program of rule.programs) if (!celTrue(program, vars).value) return false;
  return true;
}

export type Decision = { readonly allowed: true } | { readonly allowed: false; readonly policy: string };

const ALLOWED: Decision = { allowed: true };

export function decide(rules: readonly CompiledRule[], vars: Readonly<Record<string, unknown>>): Decision {
  if (rules.length === 0) return ALLOWED;
  for (const rule of rules) {
    if (rule.action === 'Deny' && matches(rule, vars)) return { allowed: false, policy: rule.policy };
  }
  for (const rule of rules) {
    if (rule.action === 'Require' && !matches(rule, vars)) return { allowed: false, policy: rule.policy };
  }
  let allows: CompiledRule | undefined;
  for (const rule of rules) {
    if (rule.action !== 'Allow') continue;
    allows ??= rule;
    if (matches(rule, vars)) return ALLOWED;
  }
  return allows ? { allowed: false, policy: allows.policy } : ALLOWED;
}
