import { runService } from '@follower-maze/shared';
import { startIngestService } from './ingest-service.ts';

await runService('ingest', startIngestService);
