"""The ``dmp`` command line. Heavy libraries (Spark, MLflow, GX) load only inside commands."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from dmp.config import Settings

app = typer.Typer(
    name="dmp",
    help="dmp: behaviour data in, profiles and segments, lookalike audiences out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@dataclass
class _Options:
    home: Path | None
    config: Path | None
    env: str | None
    verbose: bool
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from dmp.config import load_config

            self._settings = load_config(self.config, env=self.env, home=self.home)
        return self._settings


@app.callback()
def _main(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(
            help="Data root (landing/, lake/, mlflow/, ...). Default: $DMP_HOME or ./dmp-data."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            help="Extra YAML config merged over conf/. Default: $DMP_CONFIG.", envvar="DMP_CONFIG"
        ),
    ] = None,
    env: Annotated[
        str | None, typer.Option(help="Config overlay conf/<env>.yaml. Default: $DMP_ENV or local.")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Spark logs and progress bars.")
    ] = False,
) -> None:
    _configure_logging(verbose)
    ctx.obj = _Options(home=home, config=config, env=env, verbose=verbose)


def _options(ctx: typer.Context) -> _Options:
    options = ctx.obj
    assert isinstance(options, _Options)
    return options


@app.command()
def demo(
    ctx: typer.Context,
    users: Annotated[int, typer.Option(min=50, help="People in the generated world.")] = 3000,
    days: Annotated[int, typer.Option(min=1, max=366, help="Observed days.")] = 30,
    seed: Annotated[int, typer.Option(help="World seed (same seed, same world).")] = 42,
) -> None:
    """Generate a world and run every stage on it, on the embedded default (local Spark)."""
    from dmp.demo import run_demo

    options = _options(ctx)
    settings = options.settings
    _echo(f"dmp demo: data root {settings.home}")
    run_demo(
        settings,
        users=users,
        days=days,
        seed=seed,
        verbose=options.verbose,
        report=lambda name, summary: _print_summary(name, summary),
    )
    _echo("done: try `dmp tables` and `dmp runs`")


@app.command()
def generate(
    ctx: typer.Context,
    users: Annotated[int, typer.Option(min=1, help="People in the world.")] = 2000,
    days: Annotated[int, typer.Option(min=1, max=366, help="Observed days.")] = 30,
    seed: Annotated[int, typer.Option(help="World seed.")] = 42,
    start_date: Annotated[str, typer.Option(help="First observed day, YYYY-MM-DD.")] = "2026-01-01",
    future_days: Annotated[int, typer.Option(min=0, help="Held-back window (truth only).")] = 14,
    bad_share: Annotated[float, typer.Option(min=0, max=0.5, help="Share of bad lines.")] = 0.01,
    workers: Annotated[int | None, typer.Option(min=1, help="Processes (default: cores).")] = None,
) -> None:
    """Write a generated e-commerce world to landing/ (and its planted truth to truth/)."""
    from dmp.driver import run_stage
    from dmp.generate import WorldSpec
    from dmp.generate.entry import GENERATE

    settings = _options(ctx).settings
    spec = WorldSpec(
        users=users,
        days=days,
        seed=seed,
        start_date=_parse_date(start_date, "--start-date"),
        future_days=future_days,
        bad_share=bad_share,
        workers=workers,
    )
    result = run_stage(GENERATE, settings, spec)
    _print_summary("generate", result.summary())


@app.command()
def ingest(
    ctx: typer.Context,
    date: Annotated[
        str | None, typer.Option("--date", help="Only this landing date (YYYY-MM-DD).")
    ] = None,
) -> None:
    """Ingest landing files not ingested yet into bronze/events and bronze/quarantine."""
    from dmp.driver import run_stage
    from dmp.ingest.entry import INGEST, IngestRequest

    options = _options(ctx)
    landing_date = _parse_date(date, "--date") if date else None
    request = IngestRequest(landing_date=landing_date)
    result = run_stage(INGEST, options.settings, request, verbose=options.verbose)
    _print_summary("ingest", result.summary())


@app.command()
def identity(ctx: typer.Context) -> None:
    """Stitch cookies, devices, logins, e-mails and partner ids into persons."""
    from dmp.driver import run_stage
    from dmp.identity.entry import IDENTITY, IdentityRequest

    options = _options(ctx)
    result = run_stage(IDENTITY, options.settings, IdentityRequest(), verbose=options.verbose)
    _print_summary("identity", result.summary())


@app.command()
def profiles(
    ctx: typer.Context,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Snapshot date YYYY-MM-DD (default: latest event date in bronze)."
        ),
    ] = None,
) -> None:
    """Build one profile per person as of a date into silver/profiles."""
    from dmp.driver import run_stage
    from dmp.profiles.entry import PROFILES, ProfilesRequest
    from dmp.stages import latest_event_date

    options = _options(ctx)
    day = _parse_date(as_of, "--as-of") if as_of else latest_event_date(options.settings)
    result = run_stage(PROFILES, options.settings, ProfilesRequest(day), verbose=options.verbose)
    _print_summary("profiles", result.summary())


segments_app = typer.Typer(
    help="Segments: build them (no subcommand), or preview sizes without writing."
)
app.add_typer(segments_app, name="segments")


@segments_app.callback(invoke_without_command=True)
def segments(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Option("--file", help="Segments file (default conf/segments.yaml).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Profile snapshot (default: the latest).")
    ] = None,
) -> None:
    """Materialise segments, scoring plans and persona clusters into gold tables."""
    from dmp.driver import run_stage
    from dmp.segments.entry import SEGMENTS, SegmentsRequest

    if ctx.invoked_subcommand is not None:
        return
    options = _options(ctx)
    day = _parse_date(as_of, "--as-of") if as_of else None
    request = SegmentsRequest(as_of=day, file=file)
    result = run_stage(SEGMENTS, options.settings, request, verbose=options.verbose)
    _print_summary("segments", result.summary())


# --- segment set operations: `dmp segments preview`, `dmp lists ...` ---------------------


@segments_app.command("preview")
def segments_preview(
    ctx: typer.Context,
    where: Annotated[
        str | None, typer.Option("--where", help="A Spark SQL condition over profile columns.")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="A segments file: count every segment in it.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Profile snapshot (default: the latest).")
    ] = None,
) -> None:
    """Count the people a condition (or each segment of a file) selects; writes nothing."""
    from dmp.segments.entry import preview_segments_now

    options = _options(ctx)
    day = _parse_date(as_of, "--as-of") if as_of else None
    result = preview_segments_now(
        options.settings, where=where, segment_file=file, as_of=day, verbose=options.verbose
    )
    _print_summary("segments preview", result.summary())


@segments_app.command("list")
def segments_list(
    ctx: typer.Context,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Snapshot to list (default: the latest).")
    ] = None,
) -> None:
    """List segments with size and share from gold/segment_sizes (no Spark)."""
    from dmp.browse import segments as list_segments
    from dmp.lake import Lake

    settings = _options(ctx).settings
    day = _parse_date(as_of, "--as-of") if as_of else None
    _print_listing(list_segments(Lake(settings.lake_dir), day), "no segments yet")


lists_app = typer.Typer(help="Uploaded identifier lists (stored hashed) for segments.")
app.add_typer(lists_app, name="lists")


@lists_app.command("add")
def lists_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="List name (snake_case).")],
    file: Annotated[Path, typer.Option("--file", help="CSV with a header row.")],
    id_type: Annotated[
        str, typer.Option("--id-type", help="user_id, email, phone, email_sha256, advertising_id.")
    ],
) -> None:
    """Add a CSV's identifiers to a list (hashed as at ingest); creates the list."""
    from dmp.driver import run_stage
    from dmp.segments.entry import LISTS, ListRequest

    options = _options(ctx)
    request = ListRequest("add", name, file, id_type)
    result = run_stage(LISTS, options.settings, request, verbose=options.verbose)
    _print_summary("lists add", result.summary())


@lists_app.command("remove")
def lists_remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="List name.")],
    file: Annotated[
        Path | None, typer.Option("--file", help="Identifiers to remove (default: the whole list).")
    ] = None,
    id_type: Annotated[str | None, typer.Option("--id-type", help="Id type of --file.")] = None,
) -> None:
    """Remove a CSV's identifiers from a list, or the whole list."""
    from dmp.driver import run_stage
    from dmp.errors import UserError
    from dmp.segments.entry import LISTS, ListRequest

    if file is not None and id_type is None:
        raise UserError("--file needs --id-type")
    options = _options(ctx)
    request = ListRequest("remove", name, file, id_type)
    result = run_stage(LISTS, options.settings, request, verbose=options.verbose)
    _print_summary("lists remove", result.summary())


@lists_app.command("show")
def lists_show(ctx: typer.Context) -> None:
    """Every list and how many identifiers it holds."""
    from dmp.segments.entry import list_sizes_now

    sizes = list_sizes_now(_options(ctx).settings)
    if not sizes:
        _echo("no lists yet: add one with `dmp lists add NAME --file F --id-type T`")
        return
    _print_table("lists", ["list", "identifiers"], [[k, str(v)] for k, v in sizes.items()])


@app.command()
def funnels(
    ctx: typer.Context,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Date YYYY-MM-DD (default: latest event date in bronze)."),
    ] = None,
) -> None:
    """Compute the configured funnels (conf `funnels:`) and their drop-off segments."""
    from dmp.driver import run_stage
    from dmp.funnels.entry import FUNNELS, FunnelsRequest
    from dmp.stages import latest_event_date

    options = _options(ctx)
    day = _parse_date(as_of, "--as-of") if as_of else latest_event_date(options.settings)
    result = run_stage(FUNNELS, options.settings, FunnelsRequest(day), verbose=options.verbose)
    _print_summary("funnels", result.summary())


@app.command()
def lookalike(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="Audience name.")],
    segment: Annotated[
        str | None, typer.Option("--segment", help="Seed: members of this segment.")
    ] = None,
    seed_file: Annotated[
        Path | None, typer.Option("--seed-file", help="Seed: CSV of identifiers.")
    ] = None,
    id_type: Annotated[
        str | None,
        typer.Option(
            "--id-type",
            help="Identifier type of --seed-file: user_id, email, phone, "
            "email_sha256 or advertising_id.",
        ),
    ] = None,
    method: Annotated[
        str | None, typer.Option("--method", help="similarity, pu, ensemble or auto.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Profile snapshot (default: the latest).")
    ] = None,
    truth_product: Annotated[
        str | None,
        typer.Option(
            "--truth-product",
            help="Generated worlds only: report how future buyers of this product rank.",
        ),
    ] = None,
    value: Annotated[
        str | None,
        typer.Option(
            "--value",
            help="Weight seed people by this numeric profile column (e.g. revenue_total), "
            "so the audience favours high-value look-alikes.",
        ),
    ] = None,
) -> None:
    """Build a lookalike audience from a seed segment or an uploaded list."""
    from dmp.driver import run_stage
    from dmp.lookalike.entry import LOOKALIKE, LookalikeRequest
    from dmp.lookalike.tracking import check_tracking_server

    options = _options(ctx)
    if (segment is None) == (seed_file is None):
        raise typer.BadParameter("give exactly one of --segment or --seed-file")
    if seed_file is not None and id_type is None:
        raise typer.BadParameter("--seed-file needs --id-type")
    day = _parse_date(as_of, "--as-of") if as_of else None
    check_tracking_server(options.settings)  # before Spark starts
    request = LookalikeRequest(
        name=name,
        segment=segment,
        seed_file=seed_file,
        id_type=id_type,
        method=method,
        as_of=day,
        truth_product=truth_product,
        value=value,
    )
    result = run_stage(LOOKALIKE, options.settings, request, verbose=options.verbose)
    _print_summary("lookalike", result.summary())


@app.command("export")
def export_command(
    ctx: typer.Context,
    channel: Annotated[str, typer.Option("--channel", help="Channel from conf/channels.yaml.")],
    audience: Annotated[
        str | None, typer.Option("--audience", help="Export this lookalike audience.")
    ] = None,
    tier: Annotated[
        str | None, typer.Option("--tier", help="Audience tier, e.g. 5% (default: all).")
    ] = None,
    segment: Annotated[str | None, typer.Option("--segment", help="Export this segment.")] = None,
    holdout: Annotated[
        str | None, typer.Option("--holdout", help="Control group kept out, e.g. 10%.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Snapshot date (default: the latest).")
    ] = None,
    on: Annotated[
        str | None,
        typer.Option("--on", help="Export date whose consent applies (default: today, UTC)."),
    ] = None,
) -> None:
    """Export an audience tier or a segment as channel files, with consent and holdout."""
    from dmp.driver import run_stage
    from dmp.export.entry import EXPORT, ExportRequest

    options = _options(ctx)
    request = ExportRequest(
        channel=channel,
        audience=audience,
        segment=segment,
        tier=int(_percent(tier, "--tier") * 100) if tier else None,
        holdout=_percent(holdout, "--holdout") if holdout else 0.0,
        as_of=_parse_date(as_of, "--as-of") if as_of else None,
        on=_parse_date(on, "--on") if on else None,
    )
    result = run_stage(EXPORT, options.settings, request, verbose=options.verbose)
    _print_summary("export", result.summary())


@app.command()
def erase(
    ctx: typer.Context,
    email: Annotated[list[str] | None, typer.Option("--email", help="E-mail to forget.")] = None,
    phone: Annotated[list[str] | None, typer.Option("--phone", help="Phone to forget.")] = None,
    user_id: Annotated[
        list[str] | None, typer.Option("--user-id", help="User id to forget.")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="CSV of id_type,value rows to forget.")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Only complete interrupted erasure requests.")
    ] = False,
) -> None:
    """Right to be forgotten: remove people from every table, vacuum, suppress.

    Every run first completes any erasure request an earlier run left half-done.
    """
    from dmp.driver import run_stage
    from dmp.erasure.entry import ERASE, ErasureRequest
    from dmp.errors import UserError

    options = _options(ctx)
    request = ErasureRequest.from_file(file) if file else ErasureRequest()
    request = ErasureRequest(
        emails=[*request.emails, *(email or [])],
        phones=[*request.phones, *(phone or [])],
        user_ids=[*request.user_ids, *(user_id or [])],
    )
    if resume and (request.emails or request.phones or request.user_ids):
        raise UserError("--resume takes no identifiers; run `dmp erase --resume` alone")
    result = run_stage(ERASE, options.settings, request, verbose=options.verbose)
    _print_summary("erase", result.summary())


@app.command()
def lift(
    ctx: typer.Context,
    audience: Annotated[str, typer.Option("--audience", help="Audience (or segment) name.")],
    results: Annotated[Path, typer.Option("--results", help="Outcomes CSV of the campaign.")],
    export_id: Annotated[
        str | None, typer.Option("--export-id", help="Export whose holdout is the control.")
    ] = None,
) -> None:
    """Measure a campaign's lift from outcomes: CI, p-value, incremental value, MDE."""
    from dmp.driver import run_stage
    from dmp.lift.entry import LIFT, LiftRequest
    from dmp.lookalike.tracking import check_tracking_server

    options = _options(ctx)
    check_tracking_server(options.settings)  # before Spark starts
    request = LiftRequest(audience=audience, results=results, export_id=export_id)
    result = run_stage(LIFT, options.settings, request, verbose=options.verbose)
    _print_summary("lift", result.summary())


@app.command("simulate-outcomes")
def simulate_outcomes_command(
    ctx: typer.Context,
    audience: Annotated[str, typer.Option("--audience", help="Audience with a recorded export.")],
    out: Annotated[Path, typer.Option("--out", help="CSV to write.")],
    true_lift: Annotated[float, typer.Option("--lift", help="Planted relative lift.")] = 0.2,
    base_rate: Annotated[
        float, typer.Option("--base-rate", help="Control conversion rate.")
    ] = 0.05,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Generated worlds: write campaign outcomes with a planted lift for `dmp lift`."""
    from dmp.driver import session_for
    from dmp.generate.outcomes import simulate_outcomes

    options = _options(ctx)
    spark = session_for(options.settings, verbose=options.verbose)
    path = simulate_outcomes(
        spark, options.settings, audience=audience, out=out, true_lift=true_lift,
        base_rate=base_rate, seed=seed,
    )  # fmt: skip
    _echo(f"outcomes written to {path}")


pipeline_app = typer.Typer(help="The scheduled pipeline: every stage for a date.")
app.add_typer(pipeline_app, name="pipeline")


@pipeline_app.command("run")
def pipeline_run(
    ctx: typer.Context,
    date: Annotated[str | None, typer.Option("--date", help="Run for this date.")] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="Backfill from this date (with --to).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Backfill up to this date.")] = None,
    stage: Annotated[
        str | None,
        typer.Option(
            "--stage",
            help="Run only this stage (ingest, identity, profiles, segments, lookalike, "
            "export, optimize): one task of a scheduler.",
        ),
    ] = None,
    run_id: Annotated[
        str | None,
        typer.Option(
            "--run-id",
            help="Pipeline run id shared by the stage tasks of one date (with --stage).",
        ),
    ] = None,
) -> None:
    """Ingest, identity, profiles, segments, audiences and exports for a date (or a range),
    skipping stages whose inputs did not change. Exit codes: 0 ok, 1 failed stage, 2 usage
    error, 3 data-quality gate failed."""
    from datetime import timedelta

    from dmp.errors import UserError
    from dmp.pipeline import run_pipeline

    options = _options(ctx)
    if date and (start or end):
        raise UserError("give either --date or --from/--to")
    if date:
        days = [_parse_date(date, "--date")]
    elif start and end:
        first, last = _parse_date(start, "--from"), _parse_date(end, "--to")
        if last < first:
            raise UserError("--to is before --from")
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    else:
        raise UserError("give --date D, or --from D1 --to D2")
    if run_id is not None and not (date and run_id.strip()):
        raise UserError("--run-id needs --date (one date per pipeline run) and a non-empty id")
    result = run_pipeline(
        options.settings, days, verbose=options.verbose, stage=stage, run_id=run_id
    )
    _print_summary("pipeline", result.summary())


def _percent(text: str, option: str) -> float:
    """``5%``, ``5`` or ``0.05`` -> 0.05."""
    from dmp.errors import UserError

    raw = text.strip().rstrip("%")
    try:
        value = float(raw)
    except ValueError:
        raise UserError(f"{option} {text!r} is not a percentage (e.g. 5%)") from None
    share = value / 100 if text.strip().endswith("%") or value > 1 else value
    if not 0 < share < 1:
        raise UserError(f"{option} {text!r} must be between 0% and 100%")
    return share


def _parse_date(text: str, option: str) -> Any:
    from datetime import date as date_type

    from dmp.errors import UserError

    try:
        return date_type.fromisoformat(text)
    except ValueError:
        raise UserError(f"{option} {text!r} is not a date; use YYYY-MM-DD") from None


@app.command()
def optimize(
    ctx: typer.Context,
    table: Annotated[
        list[str] | None, typer.Option(help="Only this table, layer/name (repeatable).")
    ] = None,
    retention_hours: Annotated[
        int | None,
        typer.Option(min=0, help="Vacuum retention (default: lake.vacuum_retention_hours)."),
    ] = None,
    no_vacuum: Annotated[bool, typer.Option(help="Compact only; delete nothing.")] = False,
) -> None:
    """Compact small files into larger ones and vacuum files older versions no longer need."""
    from dmp.driver import run_stage
    from dmp.maintenance import OPTIMIZE, OptimizeRequest

    settings = _options(ctx).settings
    request = OptimizeRequest(
        tables=tuple(table or ()), retention_hours=retention_hours, vacuum=not no_vacuum
    )
    result = run_stage(OPTIMIZE, settings, request)
    _print_summary("optimize", result.summary())


@app.command("report")
def report(
    ctx: typer.Context,
    open_: Annotated[
        bool, typer.Option("--open", help="Open the index in the default web browser.")
    ] = False,
) -> None:
    """Rebuild the report index (latest report of each kind and audience) and print its path."""
    from dmp.report_index import write_index

    settings = _options(ctx).settings
    path = write_index(settings.reports_dir, settings.exports_dir)
    _echo(str(path))
    if open_:
        import webbrowser

        webbrowser.open(path.absolute().as_uri())


@app.command()
def tables(ctx: typer.Context) -> None:
    """List the lake's tables with version, rows, files and last operation."""
    from dmp.lake import Lake

    settings = _options(ctx).settings
    infos = Lake(settings.lake_dir).tables()
    if not infos:
        _echo(f"no tables under {settings.lake_dir} yet (run `dmp demo` or `dmp ingest`)")
        return
    rows = [
        [
            i.name,
            str(i.version),
            f"{i.rows:,}",
            str(i.files),
            ",".join(i.partition_by) or "-",
            i.last_operation,
            i.last_commit_at.strftime("%Y-%m-%d %H:%M:%S"),
        ]
        for i in infos
    ]
    _print_table(
        f"Tables in {settings.lake_dir}",
        [
            "table",
            "version",
            "rows",
            "files",
            "partitioned by",
            "last operation",
            "committed (UTC)",
        ],
        rows,
    )


@app.command()
def runs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="How many runs to show.")] = 20,
    job: Annotated[list[str] | None, typer.Option(help="Only these jobs (repeatable).")] = None,
) -> None:
    """Show recent stage runs from ops/runs: status, timing, table versions and counts."""
    from dmp.lake import Lake
    from dmp.runlog import recent_runs

    settings = _options(ctx).settings
    found = recent_runs(Lake(settings.lake_dir), limit=limit, jobs=job)
    if not found:
        _echo("no runs recorded yet")
        return
    rows = []
    for run in found:
        versions = ", ".join(f"{k}@{v}" for k, v in sorted(run["inputs"].items()))
        written = ", ".join(f"{k}@{v}" for k, v in sorted(run["outputs"].items()))
        rows.append(
            [
                run["started_at"].strftime("%Y-%m-%d %H:%M:%S"),
                run["job"],
                run["status"],
                f"{run['duration_s']:.1f}s",
                versions or "-",
                written or "-",
                (run["message"] or "")[:80],
            ]
        )
    _print_table(
        "Recent runs", ["started (UTC)", "job", "status", "took", "read", "wrote", "message"], rows
    )


@app.command()
def audiences(ctx: typer.Context) -> None:
    """List lookalike audiences: as_of, method, held-out lift@1%, size, reach, last export."""
    from dmp.browse import audiences as list_audiences
    from dmp.lake import Lake

    settings = _options(ctx).settings
    listing = list_audiences(Lake(settings.lake_dir), settings.reports_dir, settings.exports_dir)
    _print_listing(listing, "no audiences yet (run `dmp lookalike`)")


@app.command()
def exports(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="How many exports to show.")] = 20,
) -> None:
    """List exports, newest first: audience, channel, when, rows and folder."""
    from dmp.browse import exports as list_exports

    settings = _options(ctx).settings
    _print_listing(list_exports(settings.exports_dir, limit), "no exports yet (run `dmp export`)")


@app.command()
def show(
    ctx: typer.Context,
    table: Annotated[str, typer.Argument(help="Table name, layer/name (see `dmp tables`).")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Only rows of this as_of date.")
    ] = None,
    version: Annotated[
        int | None, typer.Option("--version", help="Read this older table version.")
    ] = None,
    where: Annotated[
        str | None,
        typer.Option("--where", help="Filter: col op literal [AND ...], e.g. \"segment = 'x'\"."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Rows to show.")] = 20,
    columns: Annotated[
        str | None, typer.Option("--columns", help="Comma-separated columns to show.")
    ] = None,
) -> None:
    """Print a few rows of a table (no Spark)."""
    from dmp.browse import show as show_rows
    from dmp.lake import Lake

    settings = _options(ctx).settings
    day = _parse_date(as_of, "--as-of") if as_of else None
    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    listing = show_rows(
        Lake(settings.lake_dir), table, version=version, as_of=day, where=where,
        columns=chosen, limit=limit,
    )  # fmt: skip
    _print_listing(listing, f"no rows in {table} match")


@app.command()
def history(
    ctx: typer.Context,
    table: Annotated[str, typer.Argument(help="Table name, layer/name (see `dmp tables`).")],
    limit: Annotated[int, typer.Option(min=1, help="How many commits to show.")] = 20,
) -> None:
    """Show a table's commits: version, time, operation and operation metrics."""
    from dmp.browse import history as table_history
    from dmp.lake import Lake

    settings = _options(ctx).settings
    _print_listing(table_history(Lake(settings.lake_dir), table, limit), f"{table} has no commits")


def _print_listing(listing: Any, empty: str) -> None:
    if not listing.rows:
        _echo(empty)
        return
    _print_table(listing.title, listing.header, listing.rows)


def _print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in header:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console(width=max(120, _terminal_width())).print(table)


def _print_summary(title: str, summary: dict[str, Any]) -> None:
    _print_table(title, ["", "value"], [[k, _show(v)] for k, v in summary.items()])


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((120, 40)).columns


def _echo(message: str) -> None:
    typer.echo(message)


def _configure_logging(verbose: bool) -> None:
    from dmp.errors import RedactingFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("dmp").setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("py4j").setLevel(logging.WARNING if verbose else logging.ERROR)
    # PySpark 4 logs every analysis error as a multi-kilobyte JSON record; dmp reports the
    # error itself, as one line.
    logging.getLogger("DataFrameQueryContextLogger").setLevel(
        logging.ERROR if verbose else logging.CRITICAL
    )


_GLOBAL_VALUED = ("--home", "--config", "--env")
_GLOBAL_FLAGS = ("--verbose", "-v")


def _hoist_global_options(argv: list[str]) -> list[str]:
    """Let global options follow the command too: ``dmp tables --home X``."""
    front: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--":
            rest += argv[index:]
            break
        name = arg.split("=", 1)[0]
        if name in _GLOBAL_VALUED:
            if "=" in arg or index + 1 >= len(argv):
                front.append(arg)
            else:
                front += [arg, argv[index + 1]]
                index += 1
        elif arg in _GLOBAL_FLAGS:
            front.append(arg)
        else:
            rest.append(arg)
        index += 1
    return front + rest


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``dmp`` and ``python -m dmp``; returns the exit code.

    User mistakes print one line and return 2, failed data-quality gates 3, other failures 1.
    """
    from dmp.errors import DmpError, redact_secrets

    args = _hoist_global_options(list(sys.argv[1:] if argv is None else argv))
    try:
        app(args=args, prog_name="dmp", standalone_mode=True)
    except SystemExit as stop:  # click's own exit: help, usage errors (2)
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except DmpError as error:
        typer.echo(f"error: {redact_secrets(str(error))}", err=True)
        if error.__cause__ is not None and logging.getLogger("dmp").isEnabledFor(logging.DEBUG):
            import traceback

            trace = "".join(traceback.format_exception(error.__cause__))
            typer.echo(redact_secrets(trace), err=True, nl=False)
        return error.exit_code
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    return 0


def run() -> None:
    """Console-script entry point: exit with :func:`main`'s code."""
    sys.exit(main())
