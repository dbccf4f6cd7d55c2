import { renderText } from './src/index.ts';
import { bigCluster, planOf } from './test/fixtures.ts';
import { writeFileSync } from 'node:fs';
const n = Number(process.argv[2] ?? 10000);
writeFileSync(`/tmp/kpb-${n}.rules`, renderText(planOf(bigCluster(n, 3))));
