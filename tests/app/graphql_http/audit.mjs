// Runs graphql-http's server audits (the GraphQL over HTTP spec's MUST and SHOULD checks) against a live server
// and prints one JSON array: [{id, name, status: "ok" | "warn" | "error", reason}]. "error" is a failed MUST.
//
//   node audit.mjs http://127.0.0.1:8000/graphql
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url || !/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(url)) {
  console.error('usage: node audit.mjs http://127.0.0.1:<port>/graphql (loopback only)');
  process.exit(2);
}
const results = [];
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  results.push({ id: audit.id, name: audit.name, status: result.status, reason: result.reason ?? null });
}
console.log(JSON.stringify(results));
