#!/usr/bin/env node
'use strict';
// The `ipfence` command: runs the bundle (dist/ipfence.cjs, built by `npm run build`). Where the
// running Node has it (22.1 and later), Node's own compile cache keeps the bundle's compiled code
// between runs, in its own folder; elsewhere the bundle is compiled on each run, as require does.
const { join } = require('node:path');
const nodeModule = require('node:module');

if (typeof nodeModule.enableCompileCache === 'function') nodeModule.enableCompileCache();
require(join(__dirname, '..', 'dist', 'ipfence.cjs'));
