// A fresh Node process for the cold-start measurement (bench/sections/cold-start.ts): imports the
// bundled poll handler and serves one request, timing each step. Plain JavaScript on purpose: no
// TypeScript loader may sit between `node` and the bundle, as none does in Lambda.
// argv: <bundle.mjs> <event.json>
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [bundle, eventFile] = process.argv.slice(2);
const event = JSON.parse(readFileSync(eventFile, 'utf8'));
const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'setpoll-poll',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:setpoll-poll',
  memoryLimitInMB: '512',
  awsRequestId: 'cold-start-bench',
  logGroupName: '/aws/lambda/setpoll-poll',
  logStreamName: 'bench',
  getRemainingTimeInMillis: () => 25_000,
};

// performance.now() counts from the process's start: here it is Node's own start-up.
const started = performance.now();
const mod = await import(pathToFileURL(bundle).href);
const imported = performance.now();
const first = await mod.handler(event, context);
const answered = performance.now();
const second = await mod.handler(event, context);
const again = performance.now();
process.stdout.write(
  `BENCH_RESULT ${JSON.stringify({
    nodeStart: started,
    importMs: imported - started,
    firstMs: answered - imported,
    totalMs: answered - started,
    secondMs: again - answered,
    status: first.statusCode,
    secondStatus: second.statusCode,
  })}\n`,
);
// Lambda freezes the process; here nothing else should keep it alive (keep-alive sockets would).
process.exit(0);
