// Turns what `openclaw config schema` prints into the schema ledgerd ships
// (checks/schemas/openclaw-<version>.schema.json), so that a document the runtime's own
// `openclaw config validate` accepts is accepted here too. Run by openclaw-schema.sh; reads the
// printed schema on stdin, writes the shipped one on stdout. Every change is one the runtime makes
// before or while it validates, named below with the function in OpenClaw's source that does it.
//
//   node openclaw-schema.mjs <version> <build> < printed.json > openclaw-<version>.schema.json

import { readFileSync } from "node:fs";

const [version, build] = process.argv.slice(2);
if (!version || !build) {
  console.error("usage: node openclaw-schema.mjs <version> <build> < printed.json");
  process.exit(2);
}
const schema = JSON.parse(readFileSync(0, "utf8"));

// keywords whose value is one schema, a list of schemas, or a map of schemas
const ONE = ["additionalProperties", "propertyNames", "not", "if", "then", "else", "contains", "additionalItems"];
const LIST = ["allOf", "anyOf", "oneOf"];
const MAP = ["properties", "patternProperties", "$defs", "definitions"];

/** Calls f on every schema node (never on data such as `default`, `const`, `enum`). */
function walk(node, pointer, f) {
  if (!node || typeof node !== "object" || Array.isArray(node)) return;
  f(node, pointer);
  for (const k of ONE) walk(node[k], `${pointer}/${k}`, f);
  for (const k of LIST) if (Array.isArray(node[k])) node[k].forEach((s, i) => walk(s, `${pointer}/${k}/${i}`, f));
  for (const k of MAP) {
    if (node[k] && typeof node[k] === "object") {
      for (const [name, s] of Object.entries(node[k])) walk(s, `${pointer}/${k}/${esc(name)}`, f);
    }
  }
  if (Array.isArray(node.items)) node.items.forEach((s, i) => walk(s, `${pointer}/items/${i}`, f));
  else walk(node.items, `${pointer}/items`, f);
}
const esc = (name) => name.replaceAll("~", "~0").replaceAll("/", "~1");

const before = JSON.stringify(schema).length;
let docs = 0;
let optional = 0;
let refs = 0;
let patterns = 0;
walk(schema, "#", (node, pointer) => {
  // 1. Documentation (titles, help text) is for the Control UI; ledgerd reports key paths.
  for (const k of ["title", "description", "markdownDescription", "examples"]) {
    if (typeof node[k] === "string" || Array.isArray(node[k])) {
      delete node[k];
      docs++;
    }
  }
  // 2. Channel and plugin schemas come from each plugin's manifest, where zod wrote them for its
  //    output: a field with a `.default()` is listed as required. The runtime validates the input,
  //    where such a field may be absent (it fills the default), so it is not required here.
  if (Array.isArray(node.required) && node.properties) {
    const kept = node.required.filter((k) => !(node.properties[k] && "default" in node.properties[k]));
    optional += node.required.length - kept.length;
    if (kept.length) node.required = kept;
    else delete node.required;
  }
  // 3. A plugin's config schema is embedded with its own `$defs` and refs relative to its own
  //    root (`#/$defs/secretRef`); the runtime validates it on its own. Point those refs at the
  //    embedded copy so they resolve inside this document.
  // 4. Patterns are ECMA-262 regexes; `\0` (NUL) is the one escape among them that the Rust regex
  //    engines ledgerd uses spell differently (`\x00`).
  if (typeof node.pattern === "string") {
    const rust = node.pattern.replace(/(?<!\\)((?:\\\\)*)\\0(?![0-9])/g, "$1\\x00");
    if (rust !== node.pattern) {
      node.pattern = rust;
      patterns++;
    }
  }
  if (node.$defs) {
    walk(node, pointer, (inner) => {
      if (typeof inner.$ref === "string" && inner.$ref.startsWith("#/$defs/")) {
        inner.$ref = `${pointer}${inner.$ref.slice(1)}`;
        refs++;
      }
    });
  }
});

const at = (...path) => path.reduce((n, k) => n?.properties?.[k], schema);

// 5. Legacy forms the runtime rewrites before it validates (io.snapshot-preparation:
//    validateConfigObjectRawWithPlugins), so a config still written in them is valid:
//    - agents.list, the roster as a list of {id, ...}; migratePersistedImplicitMainRoster moves it
//      to the keyed agents.entries ("Moved agents.list to keyed agents.entries.").
const agents = at("agents");
const entries = agents?.properties?.entries;
if (!entries?.additionalProperties?.properties || agents.properties.list) {
  throw new Error("agents.entries is not the keyed roster this script knows: review step 4");
}
const item = structuredClone(entries.additionalProperties);
item.properties = { id: { type: "string", ...(entries.propertyNames?.pattern ? { pattern: entries.propertyNames.pattern } : {}) }, ...item.properties };
item.required = ["id", ...(item.required ?? [])];
agents.properties.list = { type: "array", items: item };
//    - contextTokens on agents.defaults and on each agent, contextTokens/contextWindow on a model
//      provider: migrateLegacyContextBudgetConfig removes them (with a warning).
for (const node of [at("agents", "defaults"), item, entries.additionalProperties]) {
  if (node?.properties) node.properties.contextTokens ??= {};
}
const provider = at("models", "providers")?.additionalProperties;
if (provider?.properties) {
  provider.properties.contextTokens ??= {};
  provider.properties.contextWindow ??= {};
}
//    - plugins.entries.github-copilot.config.discovery.enabled: removeLegacyCopilotDiscovery drops it.
const discovery = at("plugins", "entries", "github-copilot", "config", "discovery");
if (discovery?.properties) discovery.properties.enabled ??= {};

// 6. A rule the runtime checks beside the schema (legacy.roster: a multi-agent roster needs an
//    owner): with two or more agents, agents.ownership = "explicit" or an agent marked
//    default = true. (That at most one agent is so marked is not expressible in draft-07; the
//    CLI, where installed, says it.)
const marked = { type: "object", properties: { default: { const: true } }, required: ["default"] };
const owned = { properties: { ownership: { const: "explicit" } }, required: ["ownership"] };
agents.allOf = [
  ...(agents.allOf ?? []),
  {
    if: { properties: { list: { type: "array", minItems: 2 } }, required: ["list"] },
    then: { anyOf: [owned, { properties: { list: { contains: marked } } }] },
  },
  {
    if: { properties: { entries: { type: "object", minProperties: 2 } }, required: ["entries"] },
    then: { anyOf: [owned, { properties: { entries: { not: { additionalProperties: { not: marked } } } } }] },
  },
];

const out = {
  $comment:
    `OpenClaw ${version} (${build}) openclaw.json schema, generated by ledgerd's ` +
    `checks/schemas/openclaw-schema.sh from the npm package openclaw@${version}: ` +
    "`openclaw config schema` in an empty HOME and environment, then openclaw-schema.mjs " +
    `(help text removed: ${docs}; defaulted fields made optional: ${optional}; plugin $defs refs ` +
    `anchored: ${refs}; regex NUL escapes rewritten: ${patterns}; legacy forms the runtime migrates before validating accepted: agents.list, ` +
    "contextTokens/contextWindow, github-copilot discovery.enabled; a multi-agent roster needs " +
    "agents.ownership = explicit or a default agent). Do not edit by hand.",
  ...schema,
};
process.stdout.write(JSON.stringify(out) + "\n");
console.error(`openclaw-schema.mjs: ${before} -> ${JSON.stringify(out).length} bytes`);
