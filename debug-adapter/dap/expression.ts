import { DevlaneError } from '../../extension/core/errors';

/**
 * The small Java-like expression language of conditional breakpoints, logpoints, watches and hovers:
 * literals (numbers, strings, chars, true/false/null), names (locals, then fields of `this`, then
 * statics, then classes), `this`, member access `a.b`, indexing `a[3]`, `.length` of arrays,
 * `! - + * / %`, comparisons and `&& ||`. No method calls: evaluating a condition must never run
 * code in the debuggee. `==` between two strings compares their text, which is what a condition
 * like `name == "bob"` means to its author.
 */
export type Expr =
  | { readonly type: 'literal'; readonly value: EvalValue }
  | { readonly type: 'name'; readonly name: string }
  | { readonly type: 'this' }
  | { readonly type: 'member'; readonly object: Expr; readonly name: string }
  | { readonly type: 'index'; readonly object: Expr; readonly index: Expr }
  | { readonly type: 'unary'; readonly op: '!' | '-'; readonly arg: Expr }
  | { readonly type: 'binary'; readonly op: BinaryOp; readonly left: Expr; readonly right: Expr };

type BinaryOp = '||' | '&&' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '+' | '-' | '*' | '/' | '%';

/** A value while evaluating. Objects stay references into the VM; `handle` is the caller's own. */
export type EvalValue =
  | { readonly kind: 'null' }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'number'; readonly value: number; readonly integral: boolean; readonly javaType?: string }
  | { readonly kind: 'long'; readonly value: bigint }
  | { readonly kind: 'char'; readonly value: string }
  | { readonly kind: 'string'; readonly value: string; readonly handle?: unknown }
  | { readonly kind: 'object'; readonly handle: unknown; readonly identity: string; readonly isArray: boolean }
  | { readonly kind: 'class'; readonly handle: unknown; readonly name: string };

/** What evaluation needs from the stopped frame; the DAP session implements it over JDWP. */
export interface EvalScope {
  name(name: string): Promise<EvalValue>;
  thisObject(): Promise<EvalValue>;
  member(target: EvalValue, name: string): Promise<EvalValue>;
  index(target: EvalValue, index: number): Promise<EvalValue>;
}

export function evalError(message: string): DevlaneError {
  return new DevlaneError('invalid-input', message);
}

type Token = { kind: 'num' | 'str' | 'char' | 'ident' | 'op'; text: string; pos: number };

const operators = ['||', '&&', '==', '!=', '<=', '>=', '<', '>', '!', '+', '-', '*', '/', '%', '.', '[', ']', '(', ')'];

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = /^(0[xX][0-9a-fA-F_]+|[0-9][0-9_]*(\.[0-9_]*)?([eE][+-]?[0-9]+)?|\.[0-9]+([eE][+-]?[0-9]+)?)[lLfFdD]?/.exec(src.slice(i));
      if (!m) throw evalError(`Cannot read the number at column ${i + 1} of "${src}".`);
      out.push({ kind: 'num', text: m[0], pos: i });
      i += m[0].length;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let text = '';
      for (; j < src.length && src[j] !== c; j++) {
        if (src[j] === '\\') {
          j++;
          const e = src[j];
          text += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e === '0' ? '\0' : (e ?? '');
        } else text += src[j];
      }
      if (j >= src.length) throw evalError(`The ${c === '"' ? 'string' : 'character'} starting at column ${i + 1} of "${src}" is not closed.`);
      if (c === "'" && [...text].length !== 1) throw evalError(`'${text}' is not a single character.`);
      out.push({ kind: c === '"' ? 'str' : 'char', text, pos: i });
      i = j + 1;
    } else if (/[A-Za-z_$]/.test(c)) {
      const m = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(src.slice(i)) as RegExpExecArray;
      out.push({ kind: 'ident', text: m[0], pos: i });
      i += m[0].length;
    } else {
      const op = operators.find((o) => src.startsWith(o, i));
      if (!op) throw evalError(`Unexpected "${c}" at column ${i + 1} of "${src}". Conditions support names, fields, [index], literals, comparisons, && and ||.`);
      out.push({ kind: 'op', text: op, pos: i });
      i += op.length;
    }
  }
  return out;
}

function numberLiteral(text: string): EvalValue {
  const clean = text.replace(/_/g, '');
  const suffix = clean.slice(-1).toLowerCase();
  if (suffix === 'l') return { kind: 'long', value: BigInt(clean.slice(0, -1)) };
  if (/^0x/i.test(clean)) return { kind: 'number', value: Number(clean), integral: true, javaType: 'int' };
  if (suffix === 'f' || suffix === 'd') return { kind: 'number', value: Number(clean.slice(0, -1)), integral: false, javaType: suffix === 'f' ? 'float' : 'double' };
  const integral = !/[.eE]/.test(clean);
  return { kind: 'number', value: Number(clean), integral, javaType: integral ? 'int' : 'double' };
}

const precedence: Record<string, number> = { '||': 1, '&&': 2, '==': 3, '!=': 3, '<': 4, '<=': 4, '>': 4, '>=': 4, '+': 5, '-': 5, '*': 6, '/': 6, '%': 6 };

export function parseExpression(src: string): Expr {
  const tokens = tokenize(src);
  let p = 0;
  const peek = () => tokens[p];
  const expectOp = (op: string) => {
    const t = tokens[p];
    if (!t || t.kind !== 'op' || t.text !== op) throw evalError(`Expected "${op}" ${t ? `at column ${t.pos + 1}` : 'at the end'} of "${src}".`);
    p++;
  };
  const binary = (minPrec: number): Expr => {
    let left = unary();
    for (;;) {
      const t = peek();
      const prec = t?.kind === 'op' ? precedence[t.text] : undefined;
      if (!t || prec === undefined || prec < minPrec) return left;
      p++;
      const right = binary(prec + 1);
      left = { type: 'binary', op: t.text as BinaryOp, left, right };
    }
  };
  const unary = (): Expr => {
    const t = peek();
    if (t?.kind === 'op' && (t.text === '!' || t.text === '-')) {
      p++;
      return { type: 'unary', op: t.text, arg: unary() };
    }
    if (t?.kind === 'op' && t.text === '+') {
      p++;
      return unary();
    }
    return postfix(primary());
  };
  const postfix = (e: Expr): Expr => {
    for (;;) {
      const t = peek();
      if (t?.kind === 'op' && t.text === '.') {
        p++;
        const name = tokens[p++];
        if (!name || name.kind !== 'ident') throw evalError(`Expected a field name after "." in "${src}".`);
        if (peek()?.kind === 'op' && peek()?.text === '(') throw evalError(`Method calls such as ${name.text}() are not evaluated: a condition must not run code in the program.`);
        e = { type: 'member', object: e, name: name.text };
      } else if (t?.kind === 'op' && t.text === '[') {
        p++;
        const index = binary(1);
        expectOp(']');
        e = { type: 'index', object: e, index };
      } else return e;
    }
  };
  const primary = (): Expr => {
    const t = tokens[p++];
    if (!t) throw evalError(`"${src}" ends too early.`);
    switch (t.kind) {
      case 'num':
        return { type: 'literal', value: numberLiteral(t.text) };
      case 'str':
        return { type: 'literal', value: { kind: 'string', value: t.text } };
      case 'char':
        return { type: 'literal', value: { kind: 'char', value: t.text } };
      case 'ident':
        if (t.text === 'true' || t.text === 'false') return { type: 'literal', value: { kind: 'boolean', value: t.text === 'true' } };
        if (t.text === 'null') return { type: 'literal', value: { kind: 'null' } };
        if (t.text === 'this') return { type: 'this' };
        if (peek()?.kind === 'op' && peek()?.text === '(') throw evalError(`Method calls such as ${t.text}() are not evaluated: a condition must not run code in the program.`);
        return { type: 'name', name: t.text };
      case 'op':
        if (t.text === '(') {
          const e = binary(1);
          expectOp(')');
          return e;
        }
        throw evalError(`Unexpected "${t.text}" at column ${t.pos + 1} of "${src}".`);
      default:
        throw evalError(`Unexpected token in "${src}".`);
    }
  };
  if (tokens.length === 0) throw evalError('The expression is empty.');
  const e = binary(1);
  if (p < tokens.length) throw evalError(`Unexpected "${tokens[p]?.text}" at column ${(tokens[p]?.pos ?? 0) + 1} of "${src}".`);
  return e;
}

function numeric(v: EvalValue): { n: number | bigint; long: boolean; integral: boolean } | undefined {
  if (v.kind === 'number') return { n: v.value, long: false, integral: v.integral };
  if (v.kind === 'long') return { n: v.value, long: true, integral: true };
  if (v.kind === 'char') return { n: v.value.charCodeAt(0), long: false, integral: true };
  return undefined;
}

function describe(v: EvalValue): string {
  return v.kind === 'object' ? (v.isArray ? 'an array' : 'an object') : `a ${v.kind}`;
}

function compareNumbers(op: BinaryOp, a: { n: number | bigint; long: boolean; integral: boolean }, b: { n: number | bigint; long: boolean; integral: boolean }): boolean {
  // Two integral values with a long among them compare exactly as BigInt; otherwise as doubles, like Java's promotion.
  const exact = a.integral && b.integral && (a.long || b.long);
  const x = exact ? BigInt(a.n) : Number(a.n);
  const y = exact ? BigInt(b.n) : Number(b.n);
  switch (op) {
    case '==':
      return x === y;
    case '!=':
      return x !== y;
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    default:
      return x >= y;
  }
}

function arithmetic(op: BinaryOp, a: { n: number | bigint; long: boolean; integral: boolean }, b: { n: number | bigint; long: boolean; integral: boolean }): EvalValue {
  if (a.integral && b.integral && (a.long || b.long)) {
    const x = BigInt(a.n);
    const y = BigInt(b.n);
    if ((op === '/' || op === '%') && y === 0n) throw evalError('Division by zero.');
    const r = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : op === '/' ? x / y : x % y;
    return { kind: 'long', value: BigInt.asIntN(64, r) };
  }
  const x = Number(a.n);
  const y = Number(b.n);
  const integral = a.integral && b.integral;
  if (integral && (op === '/' || op === '%') && y === 0) throw evalError('Division by zero.');
  let r = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : op === '/' ? x / y : x % y;
  if (integral) r = op === '/' ? Math.trunc(r) : r | 0;
  return { kind: 'number', value: r, integral, javaType: integral ? 'int' : 'double' };
}

function sameValue(a: EvalValue, b: EvalValue): boolean {
  if (a.kind === 'null' || b.kind === 'null') return a.kind === b.kind;
  if (a.kind === 'string' && b.kind === 'string') return a.value === b.value;
  if (a.kind === 'boolean' && b.kind === 'boolean') return a.value === b.value;
  const na = numeric(a);
  const nb = numeric(b);
  if (na && nb) return compareNumbers('==', na, nb);
  const ida = a.kind === 'object' ? a.identity : undefined;
  const idb = b.kind === 'object' ? b.identity : undefined;
  if (ida !== undefined && idb !== undefined) return ida === idb;
  throw evalError(`Cannot compare ${describe(a)} with ${describe(b)}.`);
}

export function truthy(v: EvalValue, src: string): boolean {
  if (v.kind !== 'boolean') throw evalError(`The condition "${src}" gave ${describe(v)}, not a boolean.`);
  return v.value;
}

/** Evaluates a parsed expression; `&&` and `||` short-circuit, so `a != null && a.x > 1` is safe. */
export async function evaluate(e: Expr, scope: EvalScope): Promise<EvalValue> {
  switch (e.type) {
    case 'literal':
      return e.value;
    case 'name':
      return scope.name(e.name);
    case 'this':
      return scope.thisObject();
    case 'member': {
      const target = await evaluate(e.object, scope);
      if (target.kind === 'null') throw evalError(`Cannot read "${e.name}": the value is null.`);
      if (target.kind === 'string' && e.name === 'length') throw evalError('String.length() is a method call; use the string itself.');
      return scope.member(target, e.name);
    }
    case 'index': {
      const target = await evaluate(e.object, scope);
      const idx = numeric(await evaluate(e.index, scope));
      if (!idx || !idx.integral) throw evalError('An array index must be an integer.');
      if (target.kind === 'null') throw evalError('Cannot index: the value is null.');
      return scope.index(target, Number(idx.n));
    }
    case 'unary': {
      const v = await evaluate(e.arg, scope);
      if (e.op === '!') {
        if (v.kind !== 'boolean') throw evalError(`"!" needs a boolean, not ${describe(v)}.`);
        return { kind: 'boolean', value: !v.value };
      }
      if (v.kind === 'long') return { kind: 'long', value: BigInt.asIntN(64, -v.value) };
      const n = numeric(v);
      if (!n) throw evalError(`"-" needs a number, not ${describe(v)}.`);
      return { kind: 'number', value: -Number(n.n), integral: n.integral, javaType: v.kind === 'number' ? v.javaType : 'int' };
    }
    case 'binary': {
      if (e.op === '&&' || e.op === '||') {
        const l = truthy(await evaluate(e.left, scope), 'left side of ' + e.op);
        if (e.op === '&&' ? !l : l) return { kind: 'boolean', value: l };
        return { kind: 'boolean', value: truthy(await evaluate(e.right, scope), 'right side of ' + e.op) };
      }
      const a = await evaluate(e.left, scope);
      const b = await evaluate(e.right, scope);
      if (e.op === '==' || e.op === '!=') {
        const same = sameValue(a, b);
        return { kind: 'boolean', value: e.op === '==' ? same : !same };
      }
      if (e.op === '+' && (a.kind === 'string' || b.kind === 'string')) return { kind: 'string', value: plainText(a) + plainText(b) };
      const na = numeric(a);
      const nb = numeric(b);
      if (!na || !nb) throw evalError(`"${e.op}" needs numbers, not ${describe(a)} and ${describe(b)}.`);
      if (e.op === '<' || e.op === '<=' || e.op === '>' || e.op === '>=') return { kind: 'boolean', value: compareNumbers(e.op, na, nb) };
      return arithmetic(e.op, na, nb);
    }
  }
}

/** The text Java's string concatenation would produce for simple values. */
export function plainText(v: EvalValue): string {
  switch (v.kind) {
    case 'null':
      return 'null';
    case 'boolean':
      return String(v.value);
    case 'number':
      return v.integral ? String(v.value) : javaDouble(v.value);
    case 'long':
      return v.value.toString();
    case 'char':
    case 'string':
      return v.value;
    case 'object':
      return v.identity;
    case 'class':
      return v.name;
  }
}

/** Java prints whole doubles with ".0" and non-finite ones by name. */
export function javaDouble(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  return Number.isInteger(n) && Math.abs(n) < 1e7 ? n.toFixed(1) : String(n);
}

/** Splits a logpoint message into text and `{expression}` parts. `{{` and `}}` stay literal braces. */
export function parseLogMessage(message: string): ({ text: string } | { expr: string })[] {
  const parts: ({ text: string } | { expr: string })[] = [];
  let text = '';
  for (let i = 0; i < message.length; i++) {
    const c = message[i];
    if (c === '{' && message[i + 1] === '{') {
      text += '{';
      i++;
    } else if (c === '}' && message[i + 1] === '}') {
      text += '}';
      i++;
    } else if (c === '{') {
      const end = message.indexOf('}', i);
      if (end < 0) {
        text += message.slice(i);
        break;
      }
      if (text) parts.push({ text });
      text = '';
      parts.push({ expr: message.slice(i + 1, end) });
      i = end;
    } else text += c;
  }
  if (text) parts.push({ text });
  return parts;
}

/** Hit conditions: "5" or "== 5" (exactly the 5th hit), ">= 5", "> 5", "% 5" (every 5th). */
export function parseHitCondition(src: string): (hits: number) => boolean {
  const m = /^\s*(==|>=|>|<=|<|%)?\s*(\d+)\s*$/.exec(src);
  if (!m) throw evalError(`The hit count "${src}" is not understood: use a number, "== N", ">= N", "> N" or "% N".`);
  const n = Number(m[2]);
  switch (m[1]) {
    case '>=':
      return (h) => h >= n;
    case '>':
      return (h) => h > n;
    case '<=':
      return (h) => h <= n;
    case '<':
      return (h) => h < n;
    case '%':
      return (h) => n > 0 && h % n === 0;
    default:
      return (h) => h === n;
  }
}
