#!/usr/bin/env node
// Stays in the repository so package managers can link the `tdb` bin before the first build.
import '../dist/cli.js';
