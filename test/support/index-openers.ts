// Where src/ opens a backup index: every call that opens a path (node:fs's functions that take one, and
// better-sqlite3's Database) given an index's path. A path is an index's when its expression says so
// (indexFileOf(), `${dataFile}.index`, a listing's files.index, a name such as indexFile), or when it
// comes from one: through a variable, a function's parameter (its callers followed across modules) or
// a function's return value.
import path from 'node:path';
import ts from 'typescript';
import { sourceFiles } from './source-tree.js';

const FS_MODULES = new Set(['fs', 'node:fs', 'fs/promises', 'node:fs/promises']);
/** node:fs's functions (and fs/promises') that open the path they are given. */
const FS_OPENERS = new Set([
  'open', 'openSync', 'openAsBlob', 'readFile', 'readFileSync', 'writeFile', 'writeFileSync', 'appendFile', 'appendFileSync',
  'copyFile', 'copyFileSync', 'cp', 'cpSync', 'createReadStream', 'createWriteStream', 'truncate', 'truncateSync',
]);
/** A name for an index's path, and the end of one written out. */
const INDEX_NAME = /^index(?:File|Path)$/i;
const INDEX_SUFFIX = /\.index$/;
const SAME_FILE = new Set(['basename', 'join', 'normalize', 'resolve']);

export interface IndexOpen {
  /** Relative to the folder searched. */
  file: string;
  line: number;
  /** The opening function as called. */
  call: string;
}

export function indexOpens(srcDir: string): IndexOpen[] {
  const files = sourceFiles(srcDir);
  // Without the standard library: only src/'s own functions need resolving, and it is much faster.
  const program = ts.createProgram(files, { noLib: true, types: [], noEmit: true, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler });
  const checker = program.getTypeChecker();
  const sources = files.map((f) => program.getSourceFile(f)!);

  const symbolOf = (node: ts.Node): ts.Symbol | undefined => {
    const symbol = checker.getSymbolAtLocation(node);
    return symbol && symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  };
  const calleeOf = (call: ts.CallExpression | ts.NewExpression): ts.SignatureDeclaration | undefined => checker.getResolvedSignature(call)?.declaration as ts.SignatureDeclaration | undefined;
  /** Variables and parameters that hold an index's path, and functions that return one. */
  const holders = new Set<ts.Symbol>();
  const returners = new Set<ts.Node>();

  /** Whether the value of `expression` is an index's path (as opposed to merely mentioning one). */
  const isIndexPath = (expression: ts.Node): boolean => {
    const e = skipOuterExpressions(expression);
    if (ts.isIdentifier(e)) {
      const symbol = symbolOf(e);
      return INDEX_NAME.test(e.text) || (symbol !== undefined && holders.has(symbol));
    }
    if (ts.isStringLiteralLike(e)) return INDEX_SUFFIX.test(e.text);
    if (ts.isTemplateExpression(e)) {
      const last = e.templateSpans[e.templateSpans.length - 1]!;
      return INDEX_SUFFIX.test(last.literal.text) || (last.literal.text === '' && isIndexPath(last.expression));
    }
    if (ts.isPropertyAccessExpression(e)) return INDEX_NAME.test(e.name.text);
    // An element of a list of index paths: a listing's files.index, or a variable holding one.
    if (ts.isElementAccessExpression(e)) return (ts.isPropertyAccessExpression(e.expression) && e.expression.name.text === 'index') || isIndexPath(e.expression);
    if (ts.isConditionalExpression(e)) return isIndexPath(e.whenTrue) || isIndexPath(e.whenFalse);
    if (ts.isBinaryExpression(e) && [ts.SyntaxKind.QuestionQuestionToken, ts.SyntaxKind.BarBarToken].includes(e.operatorToken.kind)) return isIndexPath(e.left) || isIndexPath(e.right);
    if (ts.isCallExpression(e)) {
      const name = ts.isIdentifier(e.expression) ? e.expression.text : ts.isPropertyAccessExpression(e.expression) ? e.expression.name.text : '';
      if (name === 'indexFileOf') return true;
      // node:path's functions that keep a path's last part: the same file, written otherwise.
      if (SAME_FILE.has(name) && e.arguments.length > 0) return isIndexPath(e.arguments[e.arguments.length - 1]!);
      const callee = calleeOf(e);
      return callee !== undefined && returners.has(callee);
    }
    return false;
  };

  // Until nothing more is learnt: each pass may find a holder that makes another one.
  for (let grew = true; grew; ) {
    grew = false;
    const hold = (symbol: ts.Symbol | undefined) => {
      if (!symbol || holders.has(symbol)) return;
      holders.add(symbol);
      grew = true;
    };
    const returns = (fn: ts.Node | undefined) => {
      if (!fn || returners.has(fn)) return;
      returners.add(fn);
      grew = true;
    };
    for (const source of sources) {
      const visit = (node: ts.Node): void => {
        if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer && isIndexPath(node.initializer)) hold(symbolOf(node.name));
        if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isIdentifier(node.left) && isIndexPath(node.right)) hold(symbolOf(node.left));
        if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
          const parameters = calleeOf(node)?.parameters ?? [];
          node.arguments?.forEach((argument, i) => {
            const parameter = parameters[i];
            if (parameter && ts.isIdentifier(parameter.name) && isIndexPath(argument)) hold(symbolOf(parameter.name));
          });
        }
        if (ts.isReturnStatement(node) && node.expression && isIndexPath(node.expression)) returns(enclosingFunction(node));
        if (ts.isArrowFunction(node) && !ts.isBlock(node.body) && isIndexPath(node.body)) returns(node);
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
  }

  const found: IndexOpen[] = [];
  for (const source of sources) {
    const openers = openerNames(source);
    const visit = (node: ts.Node): void => {
      if ((ts.isCallExpression(node) || ts.isNewExpression(node)) && node.arguments?.some(isIndexPath)) {
        const callee = node.expression;
        const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : undefined;
        const opens = name !== undefined && (ts.isIdentifier(callee) ? openers.has(name) : FS_OPENERS.has(name));
        if (opens) found.push({ file: path.relative(srcDir, source.fileName), line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1, call: callee.getText() });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

/** The names under which a module calls an opener directly: node:fs's as imported (renamed or not), better-sqlite3's class. */
function openerNames(source: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier) || !statement.importClause) continue;
    const from = statement.moduleSpecifier.text;
    const { name, namedBindings } = statement.importClause;
    if (from === 'better-sqlite3' && name) names.add(name.text);
    if ((FS_MODULES.has(from) || from === 'better-sqlite3') && namedBindings && ts.isNamedImports(namedBindings)) {
      for (const element of namedBindings.elements) {
        const imported = (element.propertyName ?? element.name).text;
        if (FS_OPENERS.has(imported) || (from === 'better-sqlite3' && imported === 'Database')) names.add(element.name.text);
      }
    }
  }
  return names;
}

/** Past parentheses, `!`, `as` and `satisfies`. */
function skipOuterExpressions(node: ts.Node): ts.Node {
  let n = node;
  while (ts.isParenthesizedExpression(n) || ts.isNonNullExpression(n) || ts.isAsExpression(n) || ts.isSatisfiesExpression(n) || ts.isTypeAssertionExpression(n)) n = n.expression;
  return n;
}

function enclosingFunction(node: ts.Node): ts.Node | undefined {
  for (let n = node.parent; n; n = n.parent) if (ts.isFunctionLike(n)) return n;
  return undefined;
}

