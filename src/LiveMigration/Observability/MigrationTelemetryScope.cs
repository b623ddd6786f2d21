using System.Diagnostics;

namespace LiveMigration.Observability;

/// <summary>
/// One migration's telemetry: the instruments it records to, and the attributes on every measurement
/// and on its activity (direction, transport, and the host's own tags).
/// </summary>
internal sealed class MigrationTelemetryScope
{
    private readonly KeyValuePair<string, object?>[] _tags;

    /// <param name="instruments">Where measurements go.</param>
    /// <param name="direction"><see cref="MigrationTelemetry.Outgoing"/> or <see cref="MigrationTelemetry.Incoming"/>.</param>
    /// <param name="transport">The channel's kind: <c>tcp</c>, <c>unix</c>, <c>stream</c>, ...</param>
    /// <param name="hostTags">The host's tags, for example a VM name; the host's win over ours on a clash.</param>
    public MigrationTelemetryScope(MigrationInstruments instruments, string direction, string transport, IEnumerable<KeyValuePair<string, object?>>? hostTags)
    {
        Instruments = instruments;
        var tags = new List<KeyValuePair<string, object?>>
        {
            new(MigrationTelemetry.DirectionAttribute, direction),
            new(MigrationTelemetry.TransportAttribute, transport),
        };
        foreach (KeyValuePair<string, object?> tag in hostTags ?? [])
        {
            tags.RemoveAll(t => t.Key == tag.Key);
            tags.Add(tag);
        }

        _tags = [.. tags];
    }

    public MigrationInstruments Instruments { get; }

    /// <summary>The migration's attributes, plus one of the measurement's own when given.</summary>
    public TagList Tags(string? key = null, object? value = null)
    {
        var tags = new TagList(_tags);
        if (key is not null) tags.Add(key, value);
        return tags;
    }

    /// <summary>
    /// Starts the migration's activity without making it the caller's <see cref="Activity.Current"/>: the
    /// migration runs on its own task, and the host's code after the call must not find itself inside it.
    /// </summary>
    public Activity? StartActivity(string name, ActivityKind kind)
    {
        Activity? callers = Activity.Current;
        Activity? activity = MigrationInstruments.ActivitySource.StartActivity(name, kind, parentContext: default, tags: _tags);
        Activity.Current = callers;
        return activity;
    }

    /// <summary>
    /// Records how the migration ended: the outcome counter and the duration histogram, and on the activity
    /// the outcome, and for anything but success the error status, <c>error.type</c> and an exception event.
    /// </summary>
    /// <param name="activity">The migration's activity, if anyone listens.</param>
    /// <param name="outcome">One of <c>completed</c>, <c>failed</c>, <c>cancelled</c>, <c>unconfirmed</c>.</param>
    /// <param name="error">What ended it, when it did not complete.</param>
    /// <param name="description">The error for people.</param>
    /// <param name="duration">From the start to the outcome.</param>
    public void End(Activity? activity, string outcome, Exception? error, string? description, TimeSpan duration)
    {
        bool completed = outcome == MigrationTelemetry.OutcomeCompleted;
        string? errorType = completed ? null : error?.GetType().FullName ?? outcome;
        TagList tags = Tags(MigrationTelemetry.OutcomeAttribute, outcome);
        if (errorType is not null) tags.Add(MigrationTelemetry.ErrorTypeAttribute, errorType);
        Instruments.Migrations.Add(1, tags);
        Instruments.Duration.Record(duration.TotalSeconds, tags);

        if (activity is null) return;
        activity.SetTag(MigrationTelemetry.OutcomeAttribute, outcome);
        if (completed)
        {
            activity.SetStatus(ActivityStatusCode.Ok);
            return;
        }

        activity.SetStatus(ActivityStatusCode.Error, description);
        activity.SetTag(MigrationTelemetry.ErrorTypeAttribute, errorType);
        if (error is not null) activity.AddException(error);
    }
}
