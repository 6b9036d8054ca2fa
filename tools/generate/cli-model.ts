// The command line as plain data, read from the live commander definitions (src/cli/commands.ts and
// src/cli/global-options.ts): what the man pages and the shell completions are generated from.
import type { Argument, Command, Option } from 'commander';
import { buildProgram } from '../../src/cli/program.js';

export interface OptionModel {
  short?: string;
  long: string;
  /** The value it takes: `<file>` (required) or `[file]` (optional). */
  value?: { name: string; optional: boolean };
  description: string;
  choices?: readonly string[];
  default?: string;
}

export interface ArgumentModel {
  name: string;
  required: boolean;
  variadic: boolean;
  description: string;
}

export interface CommandModel {
  /** The words after the program's name: [] for the program, ['config', 'show'] for a subcommand's. */
  path: string[];
  summary: string;
  description: string;
  options: OptionModel[];
  /** Options of the commands above it, which it takes too (the global ones). */
  inherited: OptionModel[];
  arguments: ArgumentModel[];
  commands: CommandModel[];
}

export function cliModel(): CommandModel {
  const program = buildProgram({ stdout: () => {}, stderr: () => {}, env: {} }, () => {});
  return commandModel(program, [], []);
}

function commandModel(command: Command, path: string[], inherited: OptionModel[]): CommandModel {
  const help = command.createHelp();
  const options = help.visibleOptions(command).map(optionModel);
  const own = options.filter((o) => o.long !== '--help' && o.long !== '--version');
  return {
    path,
    summary: command.summary() || command.description(),
    description: command.description(),
    options,
    inherited,
    arguments: help.visibleArguments(command).map(argumentModel),
    commands: help
      .visibleCommands(command)
      .filter((c) => c.name() !== 'help')
      .map((c) => commandModel(c, [...path, c.name()], [...own, ...inherited])),
  };
}

function optionModel(option: Option): OptionModel {
  const value = /([<[])([^>\]]+)[>\]]/.exec(option.flags);
  const shown = option.negate || option.defaultValue === undefined || option.defaultValue === false ? undefined : String(option.defaultValue);
  return {
    ...(option.short && { short: option.short }),
    long: option.long ?? option.flags,
    ...(value && { value: { name: value[2]!, optional: value[1] === '[' } }),
    description: option.description,
    ...(option.argChoices && { choices: option.argChoices }),
    ...(shown !== undefined && { default: shown }),
  };
}

function argumentModel(argument: Argument): ArgumentModel {
  return { name: argument.name(), required: argument.required, variadic: argument.variadic, description: argument.description };
}

/** Every command below `root`, depth first, the root included. */
export function allCommands(root: CommandModel): CommandModel[] {
  return [root, ...root.commands.flatMap(allCommands)];
}

export const PROGRAM = 'xbackup-scheduler';
