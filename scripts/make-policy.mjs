// Regenerates crates/domain/src/policy/make-default.toml, Make's own endpoint → scope table, from the
// official SDK: every MakeTools entry names its scope, and running its `execute` against a recording
// client shows the method and path it calls. Path parameters are found by passing each input a sentinel.
//
//   cd tests/interop && npm ci && node ../../scripts/make-policy.mjs > ../../crates/domain/src/policy/make-default.toml
import path from 'node:path';

import fs from 'node:fs';
const sdkRoot = path.resolve('node_modules/@makehq/sdk');
const { Make } = await import(path.join(sdkRoot, 'dist/index.js'));
const { MakeTools } = await import(path.join(sdkRoot, 'dist/tools.js'));
const version = JSON.parse(fs.readFileSync(path.join(sdkRoot, 'package.json'), 'utf8')).version;

const rules = new Map(); // "METHOD path" → Set(scope)
const make = new Make('00000000-0000-4000-8000-000000000000', 'example.invalid');
let calls = [];
make.handleRequest = async (url, options) => {
  calls.push({ url, method: options.method ?? 'GET' });
  return new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } });
};

for (const tool of MakeTools) {
  const props = tool.inputSchema?.properties ?? {};
  const sentinels = {};
  const args = { ...(tool.examples?.[0] ?? {}) };
  let n = 0;
  for (const [name, schema] of Object.entries(props)) {
    if (schema.type === 'number' || schema.type === 'integer') {
      const value = 987650 + n++;
      sentinels[value] = name;
      args[name] = value;
    } else if (schema.type === 'string' && !schema.enum) {
      const value = `zzsentinel${n++}zz`;
      sentinels[value] = name;
      args[name] = value;
    }
  }
  calls = [];
  try {
    await tool.execute(make, args);
  } catch {
    // A tool that checks its input further still made (or not) its call; what was recorded counts.
  }
  if (calls.length === 0) {
    console.error(`# no call recorded for ${tool.name}`);
    continue;
  }
  for (const call of calls) {
    const url = new URL(call.url);
    const segments = url.pathname.split('/').map((segment) => {
      const decoded = decodeURIComponent(segment);
      return sentinels[decoded] ? `{${sentinels[decoded]}}` : segment;
    });
    const key = `${call.method.toUpperCase()} ${segments.join('/')}`;
    if (!rules.has(key)) rules.set(key, new Set());
    // A tool without a scope (users_me) needs only a valid credential: an empty list.
    if (tool.scope) rules.get(key).add(tool.scope);
  }
}

// Calls the SDK makes outside MakeTools, with Make's own rule for them (reference §1.3: any credential).
for (const key of ['GET /api/v2/users/me/current-authorization']) {
  if (!rules.has(key)) rules.set(key, new Set());
}
// A version the tool passes as a number is a parameter too; the sentinel pass cannot see it when the
// example fixes it.
for (const key of [...rules.keys()]) {
  const fixed = key.replace('/{appName}/4/', '/{appName}/{appVersion}/');
  if (fixed !== key) {
    rules.set(fixed, rules.get(key));
    rules.delete(key);
  }
}

const lines = [
  `# Make's endpoint → scope table for /api/v2, generated from @makehq/sdk ${version}'s MakeTools by`,
  '# scripts/make-policy.mjs. Each rule requires every scope it lists; an empty list, any valid credential.',
  '# Gatehouse uses this policy for forward-auth when no --policy file is given.',
  '# Do not edit by hand: regenerate.',
  '',
  '[rules]',
];
for (const key of [...rules.keys()].sort((a, b) => a.split(' ')[1].localeCompare(b.split(' ')[1]) || a.localeCompare(b))) {
  const scopes = [...rules.get(key)].sort();
  lines.push(`${JSON.stringify(key)} = ${JSON.stringify(scopes).replaceAll(',', ', ')}`);
}
console.log(lines.join('\n'));
