import { runService } from '@follower-maze/shared';
import { startSequencerService } from './sequencer-service.ts';

await runService('sequencer', startSequencerService);
