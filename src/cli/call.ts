/**
 * What a command's handler is given: its own arguments and the global options (--backend,
 * --profile), read and checked for every command before it runs.
 */
import { BACKEND_NAMES } from '../backend';
import { PROFILES, Profile, profileFromEnv } from '../experiments/profiles';
import { oneOf } from '../util/errors';
import { Args, OptionTable } from './args';

export interface Call {
  a: Args;
  profile: Profile;
  /** initBackend's option: the backend --backend named, else none (PIAT_BACKEND, or the first that loads) */
  backend: { backend?: string };
}

/** The options every command takes. */
export const GLOBAL_OPTIONS: OptionTable = {
  backend: {
    type: 'string',
    value: 'NAME',
    description: `the tfjs backend: ${BACKEND_NAMES.join('|')} (default: PIAT_BACKEND, else the first that loads)`,
  },
  profile: { type: 'string', value: 'P', description: `the profile: ${PROFILES.join('|')} (default: PIAT_PROFILE, else quick)` },
  help: { type: 'boolean', description: "print the command's options and exit (also -h)" },
};

export function callOf(a: Args): Call {
  const profile = a.str('profile');
  return {
    a,
    profile: profile !== undefined ? oneOf('profile', profile, PROFILES) : profileFromEnv('quick'),
    backend: a.given('backend') ? { backend: a.str('backend') } : {},
  };
}
