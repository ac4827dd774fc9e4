#!/usr/bin/env node
// The CLI is TypeScript run by Node 24's type stripping (pinned as a devDependency).
import '../src/cli/index.ts';
