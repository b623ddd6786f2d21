using LiveMigration.Errors;

namespace LiveMigration.Savevm;

/// <summary>
/// What decoding device sections with the VMDESCRIPTION trailer may cost across one stream. Nested arrays
/// multiply and elements of size 0 read nothing, so a description of a few hundred bytes could ask for
/// 2^40 elements: here the work and the JSON written grow only with the section bytes really decoded,
/// and the decoded state kept for the report has a total bound.
/// </summary>
/// <remarks>
/// <para>A step is one field, one structure element, one element that takes no bytes, or one subsection.
/// The steps allowed are <see cref="BaseSteps"/> plus <see cref="StepsPerByte"/> per section byte decoded
/// so far (headers and payloads); the JSON allowed is <see cref="BaseOutputBytes"/> plus
/// <see cref="OutputBytesPerByte"/> per such byte, and never more than the total bound. A real machine
/// stays far inside both: its elements take bytes, and its JSON is a few times its state.</para>
/// <para>The cancellation token is looked at every <see cref="CancellationInterval"/> steps.</para>
/// </remarks>
internal sealed class DeviceStateBudget
{
    /// <summary>The total decoded JSON kept across a stream by default: 32 MiB (held as strings of at most 64 MiB).</summary>
    public const long DefaultMaxDecodedBytes = 32L * 1024 * 1024;

    /// <summary>Steps allowed before any byte is decoded: enough for a real machine's empty structures and absent arrays.</summary>
    public const long BaseSteps = 1 << 18;

    /// <summary>Steps each decoded section byte pays for; a real description takes two or three per byte.</summary>
    public const int StepsPerByte = 16;

    /// <summary>JSON allowed before any byte is decoded: the names and empty objects of sections without payload.</summary>
    public const long BaseOutputBytes = 256 * 1024;

    /// <summary>JSON each decoded section byte pays for; a byte array element is at most "-128," and a one-byte structure its names.</summary>
    public const int OutputBytesPerByte = 64;

    /// <summary>How many steps pass between looks at the cancellation token.</summary>
    public const int CancellationInterval = 4096;

    /// <summary>What keeping one decoded section costs besides its JSON: the record and its idstr.</summary>
    private const int RetainedOverhead = 64;

    private readonly long _baseSteps;
    private readonly long _baseOutput;
    private long _steps;
    private long _decodedBytes;
    private long _retained;

    /// <param name="maxDecodedBytes">The total JSON kept across the stream.</param>
    /// <param name="baseSteps">Steps allowed before any byte is decoded.</param>
    /// <param name="baseOutputBytes">JSON allowed before any byte is decoded.</param>
    public DeviceStateBudget(long maxDecodedBytes = DefaultMaxDecodedBytes, long baseSteps = BaseSteps, long baseOutputBytes = BaseOutputBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDecodedBytes, 1);
        MaxDecodedBytes = maxDecodedBytes;
        _baseSteps = baseSteps;
        _baseOutput = baseOutputBytes;
    }

    /// <summary>The total JSON kept across the stream.</summary>
    public long MaxDecodedBytes { get; }

    /// <summary>The decoded JSON (and per-section overhead) kept so far.</summary>
    public long RetainedBytes => _retained;

    /// <summary>The steps taken so far, across the stream.</summary>
    public long Steps => _steps;

    /// <summary>Credits <paramref name="count"/> section bytes decoded (a header, or payload bytes taken).</summary>
    public void Decoded(long count) => _decodedBytes += count;

    /// <summary>Takes one step, checking the step bound, the JSON written so far in this section and the token.</summary>
    /// <param name="sectionOutputBytes">The JSON written so far for the section being decoded.</param>
    /// <param name="offset">The stream offset reached, for the error.</param>
    /// <param name="cancellationToken">Cancels the decode.</param>
    /// <exception cref="MigrationStreamException">A bound is exceeded.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public void Step(long sectionOutputBytes, long offset, CancellationToken cancellationToken)
    {
        long steps = ++_steps;
        if (steps % CancellationInterval == 1)
            cancellationToken.ThrowIfCancellationRequested();
        if (steps > Allowance(_baseSteps, StepsPerByte))
            throw new MigrationStreamException(
                $"Decoding the device state with the VMDESCRIPTION trailer takes more than {Allowance(_baseSteps, StepsPerByte)} steps for the {_decodedBytes} section bytes decoded so far: the description repeats elements that take no bytes", offset);
        CheckOutput(sectionOutputBytes, offset);
    }

    /// <summary>Checks that <paramref name="sectionOutputBytes"/> more JSON fits.</summary>
    /// <exception cref="MigrationStreamException">It does not.</exception>
    public void CheckOutput(long sectionOutputBytes, long offset)
    {
        long total = _retained + sectionOutputBytes;
        if (total > MaxDecodedBytes)
            throw new MigrationStreamException(
                $"The device state decoded with the VMDESCRIPTION trailer exceeds the limit of {MaxDecodedBytes} bytes of JSON for the whole stream", offset);
        long allowed = Allowance(_baseOutput, OutputBytesPerByte);
        if (total > allowed)
            throw new MigrationStreamException(
                $"Decoding the device state with the VMDESCRIPTION trailer writes more than {allowed} bytes of JSON for the {_decodedBytes} section bytes decoded so far", offset);
    }

    /// <summary>Keeps one decoded section of <paramref name="jsonBytes"/> bytes of JSON.</summary>
    /// <exception cref="MigrationStreamException">The total bound is exceeded.</exception>
    public void Retain(long jsonBytes, string idStr, long offset)
    {
        long cost = jsonBytes + (2L * idStr.Length) + RetainedOverhead;
        CheckOutput(cost, offset);
        _retained += cost;
    }

    private long Allowance(long baseAmount, int perByte)
    {
        long perBytes = _decodedBytes > long.MaxValue / perByte ? long.MaxValue : _decodedBytes * perByte;
        return baseAmount > long.MaxValue - perBytes ? long.MaxValue : baseAmount + perBytes;
    }
}
