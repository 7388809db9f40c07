/**
 * Builds the operator console (console/src → console/dist) with esbuild, which tsx already brings:
 * one script and one stylesheet, minified, named by content hash so the API can let browsers keep
 * them for a year; index.html is rewritten to name them and is never cached. Run by `npm run setup`
 * and `npm run build:console`; prints what the console weighs.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export const CONSOLE_DIR = path.resolve(__dirname, '../console');
export const CONSOLE_DIST = path.join(CONSOLE_DIR, 'dist');

export interface ConsoleAsset {
  file: string;
  bytes: number;
  gzipBytes: number;
}

export interface ConsoleBuild {
  outDir: string;
  assets: ConsoleAsset[];
  total: { bytes: number; gzipBytes: number };
}

export async function buildConsole(outDir: string = CONSOLE_DIST): Promise<ConsoleBuild> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: { app: path.join(CONSOLE_DIR, 'src/main.ts'), style: path.join(CONSOLE_DIR, 'src/style.css') },
    outdir: outDir,
    entryNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['chrome100', 'firefox100', 'safari15'],
    charset: 'utf8',
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => path.basename(file));
  const script = outputs.find((f) => f.endsWith('.js'));
  const style = outputs.find((f) => f.endsWith('.css'));
  if (!script || !style) throw new Error(`console build produced ${outputs.join(', ')}`);
  const html = readFileSync(path.join(CONSOLE_DIR, 'src/index.html'), 'utf8')
    .replace('%STYLE%', `/console/${style}`)
    .replace('%SCRIPT%', `/console/${script}`);
  writeFileSync(path.join(outDir, 'index.html'), html);

  const assets = ['index.html', script, style].map((file) => {
    const content = readFileSync(path.join(outDir, file));
    return { file, bytes: content.length, gzipBytes: gzipSync(content, { level: 9 }).length };
  });
  const total = assets.reduce((sum, a) => ({ bytes: sum.bytes + a.bytes, gzipBytes: sum.gzipBytes + a.gzipBytes }), {
    bytes: 0,
    gzipBytes: 0,
  });
  writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify({ assets, total }, null, 2));
  return { outDir, assets, total };
}

if (require.main === module) {
  buildConsole()
    .then(({ outDir, assets, total }) => {
      const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
      const lines = assets.map(
        (a) => `  ${a.file.padEnd(28)} ${kb(a.bytes).padStart(10)}  gzip ${kb(a.gzipBytes).padStart(9)}`,
      );
      process.stdout.write(
        `operator console → ${path.relative(process.cwd(), outDir)}\n${lines.join('\n')}\n  ${'total'.padEnd(28)} ${kb(total.bytes).padStart(10)}  gzip ${kb(total.gzipBytes).padStart(9)}\n`,
      );
    })
    .catch((err: unknown) => {
      process.stderr.write(`console build failed: ${(err as Error).message}\n`);
      process.exit(1);
    });
}
