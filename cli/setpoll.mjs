#!/usr/bin/env node
// The setpoll CLI. Its code is TypeScript that Node runs as it is, by stripping the types (Node
// 22.18 and later, and the Node 24 npm installs): no compiler at run time, so a call starts fast.
// tsconfig.json's erasableSyntaxOnly and verbatimModuleSyntax keep the code strippable.
if (!process.features.typescript) {
  console.error(`setpoll: Node.js ${process.version} cannot run TypeScript: use Node.js 22.18 or later (npx setpoll runs the Node 24 of the project's devDependencies)`);
  process.exit(1);
}
// The AWS SDK's notice about future Node versions would precede the output of every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { endQuietlyWhenOutputCloses } = await import('./io.ts');
// `setpoll … | head`: a closed pipe ends the command with 0, not an unhandled EPIPE.
endQuietlyWhenOutputCloses(process.stdout);
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
