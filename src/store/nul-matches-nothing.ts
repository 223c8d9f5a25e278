// PostgreSQL text cannot hold U+0000, and a query parameter carrying one is an error (a 500 for a
// GET /routers/%00). Request bodies with NUL are refused before they reach the store, so no stored
// value holds one on either engine: a comparison with such a value is decided without asking.
import {
  BinaryOperationNode,
  OperationNodeTransformer,
  OperatorNode,
  PrimitiveValueListNode,
  ValueListNode,
  ValueNode,
  type KyselyPlugin,
  type OperationNode,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely';

const holdsNul = (v: unknown): boolean => typeof v === 'string' && v.includes('\0');

/** Operators under which a value no row holds matches nothing (true) or every row (false). */
const MATCHES_NOTHING = new Set(['=', '==', 'in', 'is', 'like', 'ilike', 'is not distinct from']);
const MATCHES_EVERYTHING = new Set(['!=', '<>', 'not in', 'is not', 'not like', 'not ilike', 'is distinct from']);

const constant = (truth: boolean): BinaryOperationNode =>
  BinaryOperationNode.create(ValueNode.createImmediate(1), OperatorNode.create('='), ValueNode.createImmediate(truth ? 1 : 0));

/** The right operand without its NUL-holding values, or null when none remain ('unchanged' when it held none). */
function withoutNul(node: OperationNode): OperationNode | null | 'unchanged' {
  if (ValueNode.is(node)) return holdsNul(node.value) ? null : 'unchanged';
  if (PrimitiveValueListNode.is(node)) {
    const kept = node.values.filter((v) => !holdsNul(v));
    if (kept.length === node.values.length) return 'unchanged';
    return kept.length ? PrimitiveValueListNode.create(kept) : null;
  }
  if (ValueListNode.is(node)) {
    const kept = node.values.filter((v) => !(ValueNode.is(v) && holdsNul(v.value)));
    if (kept.length === node.values.length) return 'unchanged';
    return kept.length ? ValueListNode.create(kept) : null;
  }
  return 'unchanged';
}

class NulComparisons extends OperationNodeTransformer {
  protected override transformBinaryOperation(node: BinaryOperationNode): BinaryOperationNode {
    const op = OperatorNode.is(node.operator) ? node.operator.operator : '';
    const nothing = MATCHES_NOTHING.has(op);
    if (!nothing && !MATCHES_EVERYTHING.has(op)) return super.transformBinaryOperation(node);
    const right = withoutNul(node.rightOperand);
    if (right === 'unchanged') return super.transformBinaryOperation(node);
    if (right === null) return constant(!nothing);
    return super.transformBinaryOperation(BinaryOperationNode.create(node.leftOperand, node.operator, right));
  }
}

/** The PostgreSQL plugin: `= '\0…'` is false, `<> '\0…'` true, NUL values drop out of IN lists. */
export class NulMatchesNothing implements KyselyPlugin {
  readonly #transformer = new NulComparisons();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node);
  }

  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }
}
