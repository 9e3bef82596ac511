/** The `lethe` CLI (run through `bin/lethe.js`, or `npx tsx bin/lethe.ts`). */
import { main } from '../cli/program.js';

process.exitCode = await main(process.argv);
