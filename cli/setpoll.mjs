#!/usr/bin/env node
// The setpoll CLI. Its code is TypeScript run through tsx (a runtime dependency), like `npm start`.
import { register } from 'tsx/esm/api';

// The AWS SDK's notice about future Node versions would precede the output of every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { endQuietlyWhenOutputCloses } = await import('./io.ts');
// `setpoll … | head`: a closed pipe ends the command with 0, not an unhandled EPIPE.
endQuietlyWhenOutputCloses(process.stdout);
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
