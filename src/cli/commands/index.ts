/**
 * The command registry: `milkit <name>` runs COMMANDS[name]. A new command is one file exporting a
 * `Command` plus one line here (train, eval, predict and ssl are added by their owners).
 */
import { type Command } from '../command';
import { convert } from './convert';
import { dataset } from './dataset';
import { info } from './info';
import { inspect } from './inspect';
import { ssl } from './ssl';

export const COMMANDS: Record<string, Command> = Object.fromEntries(
  [
    info,
    convert,
    inspect,
    dataset,
    ssl,
  ].map((c) => [c.name, c]),
);
