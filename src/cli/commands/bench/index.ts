/** Every `pathsteer bench` subcommand, one file each (keep the list sorted). */
import type { RegisterCommand } from '../../command.js';

export const benchCommands: RegisterCommand[] = [];
