using System.Text.Json;

namespace LiveMigration.Savevm;

/// <summary>A one-shot handler that can describe its payload in the VMDESCRIPTION trailer.</summary>
internal interface IDescribedHandler
{
    /// <summary>Writes <c>vmsd_name</c>, <c>version</c>, <c>fields</c> and <c>subsections</c> into the device's JSON object.</summary>
    void Describe(Utf8JsonWriter json);
}
