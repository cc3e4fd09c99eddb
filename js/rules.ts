// The planner's rules: a holder for them, and the seed's keyword and type rule helpers.
import type { CustomRule, KeywordRule, Rule, TypeRule } from "./types.js";
import { OrchestratorError } from "./errors.js";

/** Rules tried by priority, highest first, ties in the order given. */
export class RuleBasedPlanner<const N extends string = string> {
  readonly rules: Rule<N>[];

  /** @throws OrchestratorError `invalid_config` (`planner.rules`) when `rules` is not an array. */
  constructor(rules: Rule<N>[] = []) {
    if (!Array.isArray(rules)) {
      throw new OrchestratorError("planner.rules: must be an array of rules", { code: "invalid_config", field: "planner.rules" });
    }
    this.rules = [...rules];
  }

  /** Adds a rule (returns the planner, for chaining). */
  addRule(rule: Rule<N>): this {
    this.rules.push(rule);
    return this;
  }
}

type Helper<R> = Omit<R, never> & { tool_name?: string; request_type?: string };

/** Matches when any keyword occurs in `attribute` (default `query`), case-insensitively. */
function keyword<const N extends string>(rule: KeywordRule<N> | Helper<KeywordRule<N>>): KeywordRule<N> {
  return { ...rule };
}

/** Matches when the request's `type` equals `requestType`. */
function type<const N extends string>(rule: TypeRule<N> | Helper<TypeRule<N>>): TypeRule<N> {
  return { ...rule };
}

/** A rule with explicit conditions and action. */
function custom<const N extends string>(rule: CustomRule<N>): CustomRule<N> {
  return { ...rule };
}

export const rules = { keyword, type, custom };
