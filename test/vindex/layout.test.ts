// src/vindex runs in browsers: it imports nothing from Node or third parties, and storage and
// the sequencer only as types (the caller opens them and hands them in).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect, it } from 'vitest';

it('keeps src/vindex free of Node, third-party and storage imports', () => {
  for (const f of readdirSync('src/vindex')) {
    const text = readFileSync(join('src/vindex', f), 'utf8');
    for (const m of text.matchAll(/^import (type )?[^'"]*['"]([^'"]+)['"]/gm)) {
      expect(m[2]!.startsWith('.'), `${f} imports ${m[2]}`).toBe(true);
      if (/\/(storage|sequencer|client|api)\//.test(m[2]!))
        expect(m[1], `${f} imports ${m[2]} at run time`).toBe('type ');
    }
  }
});
