// One operation through the graphql-sse client (distinct connections mode): prints each result as a JSON line as
// it arrives, stops after COUNT results, and prints {"clientError": ...} if the client fails.
// Usage: node subscribe.mjs URL KEY QUERY VARIABLES_JSON COUNT   (KEY "" for none)
import { createClient } from 'graphql-sse';

const [url, key, query, variables, count] = process.argv.slice(2);
const client = createClient({
  url,
  headers: key ? { authorization: `Bearer ${key}` } : {},
  retryAttempts: 0,
});
let seen = 0;
try {
  for await (const result of client.iterate({ query, variables: JSON.parse(variables) })) {
    console.log(JSON.stringify(result));
    seen += 1;
    if (seen >= Number(count)) break;
  }
} catch (error) {
  console.log(JSON.stringify({ clientError: String(error?.message ?? error) }));
}
client.dispose();
