// Dependency rules (issue 11): the layering DESIGN.md describes, checked on every import.
// `npm run deps:check` cruises src/; tests may import anything.
const IO_MODULES = [
  '^(node:)?(fs|fs/promises|child_process|net|http|https|http2|dgram|dns|tls)$',
  '^node_modules/(better-sqlite3|fastify|kysely)/',
  '^src/(exec|observe|store|client|api|lab)/',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A runtime import cycle (type-only imports are erased and do not count).',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'pure-core-does-no-io',
      severity: 'error',
      comment: 'model, kernel and planner are pure logic: no file, process, socket, database or HTTP module.',
      from: { path: '^src/(model|kernel|planner)/' },
      to: { path: IO_MODULES },
    },
    {
      name: 'server-never-touches-the-kernel',
      severity: 'error',
      comment: 'The API, networking and identity layers never reach kernel objects.',
      from: { path: '^src/(api|networking|identity)/' },
      to: { path: '^src/(kernel|exec|observe)/' },
    },
    {
      name: 'services-know-no-http',
      severity: 'error',
      comment: 'The networking and identity services know nothing of HTTP: their routes live in src/api.',
      from: { path: '^src/(networking|identity)/' },
      to: { path: ['^node_modules/(fastify|@fastify/)', '^src/api/'] },
    },
    {
      name: 'tracer-is-independent',
      severity: 'error',
      comment: "The tracer reads what the API and the nodes show; it does not share the server's logic.",
      from: { path: '^src/(trace|web)/' },
      to: { path: '^src/(networking|identity|store|api)/' },
    },
    {
      name: 'only-the-cli-uses-the-lab',
      severity: 'error',
      comment: 'The lab is a CLI feature (and a test fixture); nothing else depends on it.',
      from: { path: '^src/', pathNot: '^src/(cli|lab)/' },
      to: { path: '^src/lab/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Seen so the cycle rule can tell type-only imports apart (and ignore them).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js'],
    },
  },
};
