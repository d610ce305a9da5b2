/** Options and helpers shared by the `pathsteer testbed` subcommands. */
import { z } from 'zod';
import { PREFIX_RE } from '../../../testbed/netns.js';

export const DEFAULT_PREFIX = 'ps';

export const prefixOption = z
  .string()
  .regex(PREFIX_RE, '1-8 characters [a-z0-9], starting with a letter')
  .default(DEFAULT_PREFIX);

export const PREFIX_HELP = `namespace prefix of the testbed (default "${DEFAULT_PREFIX}")`;
