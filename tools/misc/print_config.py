"""Print a config after inheritance and overrides: ``python tools/misc/print_config.py CONFIG``."""
import argparse
import sys

from mmhaze.utils.cli import CfgOptionsAction


def main(argv=None):
    parser = argparse.ArgumentParser(description='Print the whole config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config keys')
    parser.add_argument('--no-check', action='store_true', help='skip the registry/argument check')
    args = parser.parse_args(argv)
    from mmhaze.apis import ConfigError, check_config, load_config
    try:
        cfg = load_config(args.config, args.cfg_options)
        if not args.no_check:
            check_config(cfg)
    except ConfigError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    print(cfg.pretty_text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
