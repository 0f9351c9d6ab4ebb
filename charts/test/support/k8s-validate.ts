/**
 * Validates rendered objects twice:
 * 1. against the JSON schema compiled into kubernetes-models and the CRD model packages
 *    (`new Model(object).validate()`: types, enums, formats, required fields);
 * 2. against the same packages' TypeScript declarations, by type-checking each object as an
 *    object literal of the model's interface. Object-literal excess-property checks reject every
 *    field the schema does not declare, at any depth — the schemas alone accept unknown fields.
 */
import { join } from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from '../../../scripts/kube-tools.js';
import type { K8sObject } from './helm.js';

/** API groups served by a CRD model package; everything else comes from kubernetes-models. */
const CRD_PACKAGES: Record<string, string> = {
  'gateway.networking.k8s.io': '@kubernetes-models/gateway-api',
  'gateway.envoyproxy.io': '@kubernetes-models/envoy-gateway',
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
  'keda.sh': '@kubernetes-models/keda',
};

/** Module that declares the model of `apiVersion`/`kind`, e.g. kubernetes-models/apps/v1/Deployment. */
export function modelModule(apiVersion: string, kind: string): string {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  const crdPackage = CRD_PACKAGES[group];
  if (crdPackage !== undefined) return `${crdPackage}/${group}/${version}/${kind}`;
  return group === '' ? `kubernetes-models/${version}/${kind}` : `kubernetes-models/${group}/${version}/${kind}`;
}

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/** Schema validation through the model classes. Returns one message per invalid object. */
export async function schemaProblems(objects: readonly K8sObject[]): Promise<string[]> {
  const problems: string[] = [];
  for (const object of objects) {
    const label = `${object.kind}/${object.metadata.name}`;
    const module = modelModule(object.apiVersion, object.kind);
    let Model: ModelClass | undefined;
    try {
      const loaded = (await import(module)) as Record<string, unknown>;
      Model = loaded[object.kind] as ModelClass | undefined;
    } catch (error) {
      problems.push(`${label}: no model for ${object.apiVersion} (${module}): ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    if (Model === undefined) {
      problems.push(`${label}: ${module} does not export ${object.kind}`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (error) {
      problems.push(`${label}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return problems;
}

/**
 * Unknown (and missing or mistyped) fields, found by the TypeScript checker. One object literal
 * per line, so each diagnostic maps back to its object.
 */
export function typeProblems(objects: readonly K8sObject[]): string[] {
  const fileName = join(REPO_ROOT, 'charts', 'test', '__rendered-objects__.ts');
  const header = objects.map((o, i) => `import type { I${o.kind} as T${i} } from '${modelModule(o.apiVersion, o.kind)}';`);
  const body = objects.map((o, i) => `export const o${i}: T${i} = ${JSON.stringify(o)};`);
  const source = [...header, ...body].join('\n');

  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, onError, shouldCreate) =>
    name === fileName ? ts.createSourceFile(name, source, languageVersion, true) : getSourceFile(name, languageVersion, onError, shouldCreate);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === fileName || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (name === fileName ? source : readFile(name));

  const program = ts.createProgram([fileName], options, host);
  const file = program.getSourceFile(fileName);
  if (file === undefined) throw new Error('the TypeScript program lost the rendered objects');
  const diagnostics = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
  return diagnostics.map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (diagnostic.start === undefined) return message;
    const { line, character } = file.getLineAndCharacterOfPosition(diagnostic.start);
    const index = line - header.length;
    const object = objects[index];
    const label = object === undefined ? `import line ${line + 1}` : `${object.kind}/${object.metadata.name}`;
    const near = object === undefined ? '' : ` near ${JSON.stringify(body[index]?.slice(Math.max(0, character - 40), character + 60))}`;
    return `${label}: ${message}${near}`;
  });
}
